"""Lint: the rules over the example workspace and over one large migration, against parsing the same SQL."""

from __future__ import annotations

from collections.abc import Callable

from pglast import parser

from benchmarks.goals import LINT_VS_PARSE
from benchmarks.harness import Bench
from benchmarks.paths import EXAMPLE
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, times
from benchmarks.timing import BenchError, CallSpec, measure_calls_round_robin, ratio
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.lint import lint_sql, lint_workspace

KEY = "lint"
TITLE = "Lint: the rules against the parser"
TABLES = 500  # one migration: a new table and an index on an existing one, 500 times (1,000 statements)
INDEX = 'CREATE INDEX "users_email_idx" ON "users" ("email")'
# what the example's lint finds (tests/unit/lint/test_example_workspace.py says which): the run checks it
EXAMPLE_FINDINGS = 3
REPEAT = 10  # the example takes milliseconds: each timed run does it this many times, so scheduling noise averages out


def large_migration(tables: int) -> str:
    """drizzle-kit's layout: a statement-breakpoint after each statement."""
    return "".join(f'CREATE TABLE "t{i}" ("id" int);--> statement-breakpoint\n{INDEX};\n' for i in range(tables))


def run(bench: Bench) -> CaseResult:
    case = CaseResult(
        KEY,
        TITLE,
        "In process (`perf_counter`), since lint starts no server and no program of its own: `lint_workspace` "
        f"over the example workspace (loaded each time, 8 migrations; {REPEAT} times a run, as its parse, since "
        "one takes milliseconds) and `lint_sql` over one generated migration "
        f"of {TABLES} new tables, each followed by a `CREATE INDEX` on an existing table ({2 * TABLES:,} "
        "statements). Each runs in turns with its baseline: pglast's `parse_sql` of the same SQL, the parse every "
        "rule starts from. After each run the harness checks (untimed) the findings: the example's "
        f"{EXAMPLE_FINDINGS}, and one per `CREATE INDEX` in the large migration.",
    )
    example_texts = [m.text for m in load_workspace(EXAMPLE).migrations]
    large = large_migration(TABLES)
    found: list[int] = []

    def keep(count: Callable[[], int]) -> Callable[[int], None]:
        return lambda _i: found.append(count())

    def expect(name: str, wanted: int) -> Callable[[int], None]:
        def check(_i: int) -> None:
            got = found.pop()
            if got != wanted:
                raise BenchError(f"{name}: {got} findings, expected {wanted}")

        return check

    specs = [
        CallSpec(
            f"lint the example workspace, {REPEAT} times",
            keep(lambda: sum(len(lint_workspace(load_workspace(EXAMPLE), base=EXAMPLE)) for _ in range(REPEAT))),
            "lint_workspace(load_workspace(EXAMPLE))",
            after=expect("example", REPEAT * EXAMPLE_FINDINGS),
        ),
        CallSpec(
            f"parse the example's SQL, {REPEAT} times",
            lambda _i: [parser.parse_sql(text) for _ in range(REPEAT) for text in example_texts],
            "pglast.parser.parse_sql of each migration",
        ),
        CallSpec(
            f"lint one migration of {2 * TABLES:,} statements",
            keep(lambda: len(lint_sql(large, path="large.sql"))),
            "lint_sql(sql)",
            after=expect("large migration", TABLES),
        ),
        CallSpec(
            f"parse the same {2 * TABLES:,} statements",
            lambda _i: parser.parse_sql(large),
            "pglast.parser.parse_sql(sql)",
        ),
    ]
    rows = measure_calls_round_robin(specs, runs=bench.options.runs, warmup=max(1, bench.options.warmup))
    for m in rows:
        bench.report(m)
    example, example_parse, big, big_parse = rows
    case.tables.append(MeasureTable("In process, in turns (each lint row's baseline is the parse below it)", rows))
    case.goals += [
        ratio_goal(
            "lint", f"the example workspace ≤ {LINT_VS_PARSE:g}× parsing its SQL", example, example_parse, LINT_VS_PARSE
        ),
        ratio_goal(
            "lint",
            f"one migration of {2 * TABLES:,} statements ≤ {LINT_VS_PARSE:g}× parsing it",
            big,
            big_parse,
            LINT_VS_PARSE,
        ),
    ]
    case.headline.append(
        f"Lint: the example workspace {seconds(example.median / REPEAT)} "
        f"({times(ratio(example, example_parse))} parsing its SQL), "
        f"one migration of {2 * TABLES:,} statements {seconds(big.median)} "
        f"({times(ratio(big, big_parse))} parsing it)."
    )
    case.reproduce = [
        "inv lint   # the example workspace, as a whole process (start-up included)",
        "python -m benchmarks.run --cases lint --quick   # this case alone",
    ]
    return case
