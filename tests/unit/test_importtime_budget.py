"""devtools/importtime.py, the start-up guard: it reads Python's import timer right and names what breaks the budget."""

from __future__ import annotations

import subprocess
import sys

from devtools.importtime import Command, Imports, problems

PROGRAM = Command("drizzle-ops status", ("drizzle-ops", "status"))


def timer_output(*tree: tuple[int, str]) -> str:
    """Lines as ``-X importtime`` prints them: (depth, module), each after what it imported."""
    lines = ["import time: self [us] | cumulative | imported package"]
    lines += [f"import time: {100:>9} | {100:>10} | {' ' * (2 * depth)}{name}" for depth, name in tree]
    return "\n".join(lines)


FLOOR = Imports.parse(
    timer_output(
        (2, "importlib.metadata"),
        (1, "psycopg_binary.version"),
        (0, "psycopg"),
        (1, "unittest.mock"),
        (0, "invoke"),
    )
)


def test_who_imported_what_is_read_from_the_real_timer() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json"], capture_output=True, text=True, check=True
    )
    imports = Imports.parse(done.stderr)
    assert {"json", "json.decoder", "json.scanner"} <= set(imports.modules)
    assert imports.importers["json.decoder"] == "json" and "json" not in imports.importers
    assert imports.importer_outside_stdlib("json.scanner") is None  # stdlib all the way up: the script


def test_a_lean_hot_path_is_within_the_budget() -> None:
    run = Imports.parse(
        timer_output(
            (3, "importlib.metadata"),
            (2, "psycopg_binary.version"),
            (1, "psycopg"),
            (0, "drizzle_ops.cli.edge"),
            (0, "invoke"),
        )
    )
    assert problems(PROGRAM, run, FLOOR) == []


def test_rich_or_a_parser_on_the_hot_path_is_named() -> None:
    run = Imports.parse(
        timer_output((1, "rich.console"), (0, "rich"), (0, "pglast"), (1, "unittest.mock"), (0, "invoke"))
    )
    assert problems(PROGRAM, run, FLOOR) == [
        "drizzle-ops status imports pglast, rich (2 modules): nothing of it belongs on the hot path"
    ]


def test_unittest_mock_may_come_from_invoke_only() -> None:
    ours = Imports.parse(timer_output((1, "unittest.mock"), (0, "drizzle_ops.cli.console"), (0, "invoke")))
    assert problems(PROGRAM, ours, FLOOR) == [
        "drizzle-ops status: drizzle_ops.cli.console imports unittest.mock; only psycopg or invoke may"
    ]


def test_importlib_metadata_may_come_from_the_floor_only() -> None:
    ours = Imports.parse(
        timer_output((2, "importlib.metadata"), (1, "email.parser"), (0, "drizzle_ops.cli.program"), (0, "psycopg"))
    )
    assert problems(PROGRAM, ours, FLOOR) == [
        "drizzle-ops status: drizzle_ops.cli.program imports importlib.metadata; only psycopg or invoke may"
    ]


def test_too_many_modules_beyond_the_floor_are_counted_by_package() -> None:
    many = [(0, f"drizzle_ops.part{n}") for n in range(80)] + [(0, "requests")]
    found = problems(PROGRAM, Imports.parse(timer_output(*many)), FLOOR)
    assert found == [
        "drizzle-ops status imports 81 modules beyond the floor, over the budget of 70: "
        "drizzle_ops (80 modules), requests"
    ]
