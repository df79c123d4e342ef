import pytest

from drizzle_ops.lint import NO_TRANSACTION_MARKER, rule_by_id

from .util import check, flagged

RULE = "transaction-nesting"
UPDATE = 'UPDATE "orders" SET "ref" = upper("ref");'
CONCURRENT = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_ref_idx" ON "orders" ("ref");'


def marked(*lines: str) -> str:
    return "\n".join([NO_TRANSACTION_MARKER, *lines])


def test_begin_and_commit_around_a_migration_are_flagged_and_name_the_marker() -> None:
    begin, commit = check(RULE, f"BEGIN;\n{UPDATE}\nCOMMIT;")
    assert (begin.line, commit.line) == (1, 3)
    assert {begin.severity.value, commit.severity.value} == {"warning"}
    assert "nests nothing" in begin.message and "ignores this one with a warning" in begin.message
    assert "ends the migration tool's transaction" in commit.message
    assert NO_TRANSACTION_MARKER in commit.message and NO_TRANSACTION_MARKER in commit.help


def test_the_commit_begin_workaround_around_concurrently_is_flagged_at_both_ends() -> None:
    sql = "\n--> statement-breakpoint\n".join([UPDATE, "COMMIT;", CONCURRENT, "BEGIN;", UPDATE])
    commit, begin = check(RULE, sql)
    assert (commit.line, begin.line) == (3, 7)
    assert commit.statement == "COMMIT" and begin.statement == "BEGIN"
    assert "opens a transaction of the file's own" in begin.message and NO_TRANSACTION_MARKER in begin.message


@pytest.mark.parametrize(
    ("sql", "word"),
    [
        ("START TRANSACTION;", "START TRANSACTION"),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;", "BEGIN"),
        ("END;", "END"),
        ("ABORT;", "ABORT"),
        ("ROLLBACK;", "ROLLBACK"),
        ("SAVEPOINT a;", "SAVEPOINT"),
        ("RELEASE SAVEPOINT a;", "RELEASE"),
        ("ROLLBACK TO SAVEPOINT a;", "ROLLBACK TO"),
    ],
)
def test_every_spelling_of_transaction_control_is_flagged_by_its_own_name(sql: str, word: str) -> None:
    (finding,) = check(RULE, f"{UPDATE}\n{sql}")
    assert finding.message.startswith(f"{word} ") and finding.line == 2


def test_rollback_throws_away_the_transactions_work() -> None:
    (finding,) = check(RULE, f"{UPDATE}\nROLLBACK;")
    assert "throws away" in finding.message and finding.severity.value == "warning"


def test_prepare_transaction_is_an_error() -> None:
    (finding,) = check(RULE, f"{UPDATE}\nPREPARE TRANSACTION 'backfill';")
    assert finding.severity.value == "error" and "max_prepared_transactions" in finding.message


def test_commit_prepared_inside_the_migrations_transaction_is_an_error() -> None:
    for sql in ("COMMIT PREPARED 'x';", "ROLLBACK PREPARED 'x';"):
        (finding,) = check(RULE, sql)
        assert finding.severity.value == "error" and "cannot run inside a transaction block" in finding.message


def test_commit_prepared_outside_a_transaction_is_a_warning() -> None:
    (finding,) = check(RULE, marked("COMMIT PREPARED 'x';"))
    assert finding.severity.value == "warning" and "two-phase" in finding.message


def test_a_savepoint_where_no_transaction_is_open_fails() -> None:
    (finding,) = check(RULE, marked("SAVEPOINT a;", UPDATE))
    assert finding.severity.value == "error" and "only between BEGIN and COMMIT" in finding.message


def test_a_savepoint_inside_a_marked_files_own_transaction_is_only_pointless() -> None:
    (finding,) = check(RULE, marked("BEGIN;", "SAVEPOINT a;", UPDATE, "COMMIT;"))
    assert finding.severity.value == "warning" and "protects nothing" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        marked(CONCURRENT, "--> statement-breakpoint", "BEGIN;", UPDATE, UPDATE, "COMMIT;"),
        marked("BEGIN;", UPDATE, "COMMIT;", "START TRANSACTION;", UPDATE, "END;"),
        marked("BEGIN;", UPDATE, "COMMIT AND CHAIN;", UPDATE, "COMMIT;"),
        marked("BEGIN;", UPDATE, "ROLLBACK;"),
        UPDATE,
        "DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$;",  # PL/pgSQL, not the migration's transaction
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)


def test_a_marked_file_may_not_nest_begin() -> None:
    (finding,) = check(RULE, marked("BEGIN;", UPDATE, "BEGIN;", UPDATE, "COMMIT;"))
    assert finding.line == 4 and "already opened" in finding.message


def test_a_marked_file_may_not_commit_what_it_never_began() -> None:
    (finding,) = check(RULE, marked(UPDATE, "COMMIT;"))
    assert finding.line == 3 and "no transaction open" in finding.message


def test_a_marked_file_must_commit_what_it_began() -> None:
    (finding,) = check(RULE, marked(UPDATE, "BEGIN;", UPDATE))
    assert finding.line == 3 and "never committed" in finding.message


def test_a_chain_that_nothing_commits_is_flagged() -> None:
    (finding,) = check(RULE, marked("BEGIN;", UPDATE, "COMMIT AND CHAIN;", UPDATE))
    assert finding.line == 4 and "AND CHAIN" in finding.message
    (last,) = check(RULE, marked("BEGIN;", UPDATE, "COMMIT AND CHAIN;"))
    assert last.line == 4


def test_caller_can_say_the_migration_runs_without_a_transaction() -> None:
    assert not flagged(RULE, f"BEGIN;\n{UPDATE}\nCOMMIT;", transactional=False)
    assert flagged(RULE, f"BEGIN;\n{UPDATE}\nCOMMIT;")


def test_a_lint_ignore_silences_it() -> None:
    assert not flagged(RULE, f"{UPDATE}\nCOMMIT; -- lint: ignore transaction-nesting (the last statement anyway)")


def test_squawks_id_and_its_differences_are_documented() -> None:
    rule = rule_by_id(RULE)
    assert rule.squawk == RULE and rule.severity.value == "warning"
    assert NO_TRANSACTION_MARKER in rule.fix
    assert any("SAVEPOINT" in d for d in rule.squawk_differences)
    assert any("PREPARE TRANSACTION" in d for d in rule.squawk_differences)
