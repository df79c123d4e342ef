"""Where verify/compare.py reports a difference, and how to silence one such place.

Every difference the comparison reports goes through one ``self.add(…)`` call;
each call is one kind of difference (tests/difference_kinds.py names them). A
site is found by its method and a marker: text of the call or of the condition
that guards it, found at no other call in that method. Disabling a site replaces
that one call with ``None``: the comparison still runs, it only stays silent
about that kind (the bug the issue planted by hand).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

COMPARE = Path(__file__).resolve().parents[2] / "src" / "drizzle_ops" / "verify" / "compare.py"


@dataclass(frozen=True)
class Site:
    function: str  # the Comparison method holding the call
    text: str  # the guarding condition (if any), then the call, as written in the source
    start: int  # character offsets of the call in the source
    end: int
    line: int

    def __str__(self) -> str:
        return f"compare.py:{self.line} in {self.function}: {self.text}"


def report_sites(source: str) -> list[Site]:
    """Every ``self.add(…)`` call in ``source`` (compare.py), with the function holding it, in source order."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(lineno: int, col: int) -> int:  # ast gives UTF-8 byte columns; slicing needs characters
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    sites: list[Site] = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node, guard in _calls_with_guard(function.body, None):
            start = offset(node.lineno, node.col_offset)
            end = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
            call = source[start:end]
            text = f"{guard} → {call}" if guard else call
            sites.append(Site(function.name, " ".join(text.split()), start, end, node.lineno))
    return sorted(sites, key=lambda s: s.start)


def find(sites: list[Site], function: str, marker: str) -> list[Site]:
    """The sites of ``function`` whose text contains ``marker``."""
    return [s for s in sites if s.function == function and marker in s.text]


def disable(source: str, site: Site) -> str:
    """``source`` with the one call at ``site`` replaced by ``None`` (it compiles; it reports nothing)."""
    return source[: site.start] + "None" + source[site.end :]


def _calls_with_guard(nodes: Iterable[ast.AST], guard: str | None) -> Iterator[tuple[ast.Call, str | None]]:
    """Each report call under ``nodes`` with the condition of its innermost ``if`` (negated in ``else``) or ``for``."""
    for node in nodes:
        if isinstance(node, ast.FunctionDef):
            continue  # a nested function is a function of its own (ast.walk finds it)
        if _is_report(node):
            assert isinstance(node, ast.Call)
            yield node, guard
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            yield from _calls_with_guard(node.body, test)
            yield from _calls_with_guard(node.orelse, f"not ({test})")
        elif isinstance(node, ast.For):
            yield from _calls_with_guard(node.body, f"for {ast.unparse(node.target)} in {ast.unparse(node.iter)}")
        else:
            yield from _calls_with_guard(ast.iter_child_nodes(node), guard)


def _is_report(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    )
