"""Test database: cloning a migrated template database, against creating one and migrating it."""

from __future__ import annotations

from psycopg import sql

from benchmarks.goals import CLONE_VS_MIGRATE
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, times
from benchmarks.timing import CallSpec, measure_calls_round_robin, ratio
from drizzle_ops.engine import connection, runner
from drizzle_ops.engine.workspace import load_workspace

KEY = "testdb"
TITLE = "Test database: a fresh migrated database per test"


def run(bench: Bench) -> CaseResult:
    template, clone = "bench_template", "bench_clone"
    bench.recreate(template)
    workspace = load_workspace(EXAMPLE)
    with connection.connect(bench.url(template)) as conn:
        runner.migrate(conn, workspace)
    bench.expect_rows(template, len(workspace.migrations), "template setup")(0)
    runs, warmup = bench.options.testdb_runs, 2 * bench.options.warmup

    def drop(_i: int) -> None:
        bench.drop(clone)

    case = CaseResult(
        KEY,
        TITLE,
        "What a test fixture does for each test, timed in-process (psycopg, `perf_counter`), since it is one "
        "statement, not a program: `CREATE DATABASE … TEMPLATE` of a database migrated once per session, "
        "against creating an empty database and running the 8 example migrations into it with our runner "
        "(workspace already loaded, as a session fixture would have it), and against an empty `CREATE DATABASE`, the "
        "least any new database costs. The four run in turns; the new database is dropped after each run, untimed.",
    )

    def statement(name: str, query: sql.Composed, display: str, note: str = "") -> CallSpec:
        """One statement on the admin connection; the database it creates is dropped after it, untimed."""
        return CallSpec(name, lambda _i: bench.admin.execute(query), display, after=drop, note=note)

    clone_query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(clone), sql.Identifier(template))
    specs = [statement("clone (WAL_LOG, the default)", clone_query, f"CREATE DATABASE {clone} TEMPLATE {template}")]
    if bench.admin.info.server_version >= 150000:
        file_copy = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(clone), sql.Identifier(template)
        )
        specs.append(
            statement(
                "clone (FILE_COPY)",
                file_copy,
                f"CREATE DATABASE {clone} TEMPLATE {template} STRATEGY FILE_COPY",
                note="a checkpoint per clone; cheap here because the server runs with fsync=off",
            )
        )
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(clone))
    specs.append(
        statement(
            "empty database only",
            create,
            f"CREATE DATABASE {clone}",
            note="what any CREATE DATABASE costs on this server: the copy of `template1`",
        )
    )

    def create_and_migrate(_i: int) -> None:
        bench.admin.execute(create)
        conn = connection.connect(bench.url(clone))
        try:
            runner.migrate(conn, workspace)
        finally:
            conn.close()

    specs.append(
        CallSpec(
            "baseline: create empty + migrate",
            create_and_migrate,
            f"CREATE DATABASE {clone}; runner.migrate(...)",
            after=drop,
        )
    )
    rows = measure_calls_round_robin(specs, runs=runs, warmup=warmup)
    baseline = rows[-1]
    for m in rows:
        log(f"  {m.name}: median {seconds(m.median)}")
    case.tables.append(MeasureTable("In-process", rows, [("create + migrate", baseline)]))
    case.goals.append(
        ratio_goal(
            "test database",
            f"clone ≤ {CLONE_VS_MIGRATE}× creating an empty database and migrating it",
            rows[0],
            baseline,
            CLONE_VS_MIGRATE,
            detail=f", in turns; an empty CREATE DATABASE: {seconds(rows[-2].median)}",
        )
    )
    case.headline.append(
        f"Test database: `CREATE DATABASE … TEMPLATE` {seconds(rows[0].median)}, against "
        f"{seconds(baseline.median)} to create an empty database and migrate it ({times(ratio(rows[0], baseline))}); "
        f"an empty `CREATE DATABASE` alone takes {seconds(rows[-2].median)} on this server."
    )
    sizes = bench.admin.execute(
        "select pg_size_pretty(pg_database_size(%s)), pg_size_pretty(pg_database_size('template1'))", [template]
    ).fetchone()
    if sizes:
        case.notes.append(
            f"A clone copies the whole template database, {sizes[0]}, of which an empty database (`template1`) "
            f"is already {sizes[1]}: the system catalogs, not the 8 migrations, are most of what is copied."
        )
    case.reproduce = [
        "inv migrate --url $TEMPLATE_URL   # once: $URL with the database name bench_template",
        f"psql \"$ADMIN_URL\" -c '\\timing on' -c 'CREATE DATABASE {clone} TEMPLATE {template}' "
        f"-c 'DROP DATABASE {clone}'",
    ]
    bench.drop(clone)
    bench.drop(template)
    return case
