"""The engine: statements, line numbers, ignores, the no-transaction marker, parse errors."""

from collections.abc import Iterator

import pytest
from pglast import ast

from drizzle_ops.errors import UserError
from drizzle_ops.lint import (
    ALL_RULES,
    INVALID_IGNORE,
    Rule,
    Severity,
    is_marked_no_transaction,
    lint_migrations,
    lint_sql,
    select_rules,
)
from drizzle_ops.lint.rule import RuleContext, Statement, Violation

INDEX = 'CREATE INDEX "users_email_idx" ON "users" ("email")'


def rules_and_lines(sql: str, **kwargs: bool) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in lint_sql(sql, path="m.sql", **kwargs)]


def test_line_numbers_follow_drizzle_breakpoints_and_blank_lines() -> None:
    sql = (
        'CREATE TABLE "t" (\n\t"id" uuid\n);\n--> statement-breakpoint\n\n'
        f"{INDEX};--> statement-breakpoint\n"
        'ALTER TABLE "users" DROP COLUMN "x";'
    )
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 6), ("ban-drop-column", 7)]


def test_line_numbers_are_right_after_multibyte_characters() -> None:
    # pglast reports character offsets; a byte-offset mix-up would shift these lines
    sql = f'-- Größe: ünïcödé ✓✓✓\nUPDATE "users" SET "display_name" = \'Zoë – 🎉\';\n\n{INDEX};\n'
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 4)]
    (finding,) = lint_sql(sql)
    assert finding.statement == INDEX  # the excerpt is cut at the right offsets too


def test_statement_excerpt_and_location() -> None:
    (finding,) = lint_sql(f"SELECT 1;\n{INDEX};", path="drizzle/0009_x.sql")
    assert finding.location == "drizzle/0009_x.sql:2"
    assert finding.statement == INDEX
    assert finding.as_dict()["severity"] == "warning"


def test_ignore_on_the_line_above() -> None:
    sql = f"-- lint: ignore require-concurrent-index-creation\n{INDEX};\n{INDEX.replace('users_email', 'other')};"
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 3)]


def test_ignore_at_the_end_of_the_line_belongs_to_that_statement() -> None:
    sql = f"{INDEX}; -- lint: ignore require-concurrent-index-creation -- 12 rows\n{INDEX};"
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 2)]


def test_ignore_after_a_drizzle_breakpoint_belongs_to_the_next_statement() -> None:
    sql = f"SELECT 1;--> statement-breakpoint\n/* lint: ignore require-concurrent-index-creation */\n{INDEX};"
    assert rules_and_lines(sql) == []


def test_ignore_several_rules_with_a_reason() -> None:
    sql = (
        "-- lint: ignore adding-foreign-key-constraint, constraint-missing-not-valid (table has 3 rows)\n"
        'ALTER TABLE "a" ADD CONSTRAINT "fk" FOREIGN KEY ("b") REFERENCES "c"("id");'
    )
    assert rules_and_lines(sql) == []


def test_ignore_of_another_rule_does_not_hide_this_one() -> None:
    sql = f"-- lint: ignore ban-drop-table\n{INDEX};"
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 2)]


@pytest.mark.parametrize(
    ("comment", "words"),
    [
        ("-- lint: ignore no-such-rule", "no-such-rule"),
        ("-- lint: ignore", "names no rule"),
        ("-- lint: disable ban-drop-table", "unknown lint directive"),
    ],
)
def test_broken_ignore_is_a_warning_and_the_finding_stays(comment: str, words: str) -> None:
    findings = lint_sql(f"{comment}\n{INDEX};", path="m.sql")
    assert [(f.rule, f.severity.value, f.line) for f in findings] == [
        (INVALID_IGNORE, "warning", 1),
        ("require-concurrent-index-creation", "warning", 2),
    ]
    assert words in findings[0].message


def test_ignore_next_to_no_statement_is_a_warning() -> None:
    findings = lint_sql(f"{INDEX};\n\n-- lint: ignore require-concurrent-index-creation\n", path="m.sql")
    assert [(f.rule, f.line) for f in findings] == [("require-concurrent-index-creation", 1), (INVALID_IGNORE, 3)]
    assert "not next to any statement" in findings[1].message


def test_ignoring_an_excluded_rule_is_no_mistake() -> None:
    rules = select_rules(["require-concurrent-index-creation"])
    assert lint_sql(f"-- lint: ignore require-concurrent-index-creation\n{INDEX};", rules=rules) == []


def test_select_rules_rejects_unknown_ids() -> None:
    with pytest.raises(UserError, match="unknown lint rule 'nope'"):
        select_rules(["nope"])


def test_ordinary_comments_are_ignored() -> None:
    sql = f"-- Custom SQL migration file, put your code below! --\n-- lint is great\n{INDEX};"
    assert rules_and_lines(sql) == [("require-concurrent-index-creation", 3)]


def test_no_transaction_marker_on_the_first_line_only() -> None:
    assert is_marked_no_transaction("-- drizzle-ops: no-transaction\nSELECT 1;")
    assert is_marked_no_transaction("\ufeff-- drizzle-ops: no-transaction  \r\nSELECT 1;")
    assert not is_marked_no_transaction("SELECT 1;\n-- drizzle-ops: no-transaction")
    assert not is_marked_no_transaction("-- drizzle-ops: no-transactions\n")


def test_parse_error_is_bad_input_naming_file_and_line() -> None:
    with pytest.raises(UserError, match=r'^m\.sql:3: cannot parse the SQL \(syntax error at or near "SELEKT"\)'):
        lint_sql("SELECT 1;\n-- ünïcödé\nSELEKT 2;", path="m.sql")


def test_empty_and_comment_only_files_have_no_findings() -> None:
    assert lint_sql("") == []
    assert lint_sql("-- nothing here\n--> statement-breakpoint\n") == []


def test_function_bodies_are_not_linted_as_statements() -> None:
    sql = (
        'CREATE OR REPLACE FUNCTION "f"() RETURNS trigger LANGUAGE plpgsql AS $$\n'
        "BEGIN\n  DROP TABLE users; -- lint: nonsense\n  RETURN NEW;\nEND;\n$$;"
    )
    assert lint_sql(sql) == []


def test_every_rule_has_docs_and_a_unique_id() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) == len(set(ids)) == 19
    for rule in ALL_RULES:
        assert rule.summary and rule.problem and rule.fix and rule.bad and rule.good
        # the rule's own "bad" example is flagged by it, its "good" one (maybe two migrations) is not
        assert any(f.rule == rule.id for f in lint_sql(rule.bad, rules=[rule])), rule.id
        migrations = [(f"{n}.sql", text) for n, text in enumerate(rule.good.split("-- in the next migration:"))]
        assert not any(f.rule == rule.id for f in lint_migrations(migrations, rules=[rule])), rule.id


def test_a_large_migration_gets_a_finding_per_index_on_an_existing_table() -> None:
    # how long it takes is measured by the benchmarks (`python -m benchmarks.run --cases lint`), not asserted here
    sql = "".join(f'CREATE TABLE "t{i}" ("id" int);--> statement-breakpoint\n{INDEX};\n' for i in range(500))
    expected = [("require-concurrent-index-creation", 2 * i + 2) for i in range(500)]  # each CREATE INDEX's line
    assert [(f.rule, f.line) for f in lint_sql(sql, path="m.sql")] == expected


def test_migrations_linted_together_see_what_earlier_ones_did() -> None:
    first = 'ALTER TABLE "recipe" ADD CONSTRAINT "c" CHECK ("view_count" IS NOT NULL) NOT VALID;'
    second = (
        'ALTER TABLE "recipe" VALIDATE CONSTRAINT "c";\nALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;'
    )
    assert [f.rule for f in lint_sql(second)] == ["adding-not-nullable-field"]
    assert lint_migrations([("0001.sql", first), ("0002.sql", second)]) == []


def test_a_table_created_by_an_earlier_migration_is_not_new() -> None:
    findings = lint_migrations(
        [("0001.sql", 'CREATE TABLE "t" ("a" int);'), ("0002.sql", 'CREATE INDEX "i" ON "t" ("a");')]
    )
    assert [(f.file, f.rule) for f in findings] == [("0002.sql", "require-concurrent-index-creation")]


# The transaction helper: what "earlier in this transaction" means for every rule.


def _probe(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    """Reports, for each SELECT n, the n of the earlier and later SELECTs of its transaction."""
    if isinstance(statement.node, ast.SelectStmt):
        earlier = [s.text for s in context.earlier_in_transaction if isinstance(s.node, ast.SelectStmt)]
        later = [s.text for s in context.later_in_transaction if isinstance(s.node, ast.SelectStmt)]
        yield Violation(f"{statement.text}|{','.join(earlier)}|{','.join(later)}|{context.in_transaction}")


PROBE = Rule("probe", Severity.WARNING, "s", "p", "f", "SELECT 1", "SELECT 1", _probe)


def transactions(sql: str, *, transactional: bool = True) -> list[str]:
    return [f.message for f in lint_sql(sql, rules=[PROBE], migration_is_transactional=transactional)]


def test_a_migration_without_begin_is_one_transaction() -> None:
    assert transactions("SELECT 1;\nSELECT 2;\nSELECT 3;") == [
        "SELECT 1||SELECT 2,SELECT 3|True",
        "SELECT 2|SELECT 1|SELECT 3|True",
        "SELECT 3|SELECT 1,SELECT 2||True",
    ]


def test_commit_ends_the_transaction_and_begin_starts_the_next() -> None:
    sql = "BEGIN; SELECT 1; SELECT 2; COMMIT;\nBEGIN; SELECT 3; COMMIT;"
    assert transactions(sql) == [
        "SELECT 1||SELECT 2|True",
        "SELECT 2|SELECT 1||True",
        "SELECT 3|||True",
    ]


def test_rollback_ends_the_transaction_too() -> None:
    assert transactions("SELECT 1;\nROLLBACK;\nBEGIN;\nSELECT 2;\nCOMMIT;") == ["SELECT 1|||True", "SELECT 2|||True"]


def test_after_commit_a_statement_runs_on_its_own() -> None:
    assert transactions("SELECT 1;\nCOMMIT;\nSELECT 2;\nSELECT 3;") == [
        "SELECT 1|||True",
        "SELECT 2|||False",
        "SELECT 3|||False",
    ]


def test_no_transaction_migration_runs_statement_by_statement_but_begin_still_counts() -> None:
    sql = "-- drizzle-ops: no-transaction\nSELECT 1;\nSELECT 2;\nBEGIN;\nSELECT 3;\nSELECT 4;\nEND;"
    assert transactions(sql) == [
        "SELECT 1|||False",
        "SELECT 2|||False",
        "SELECT 3||SELECT 4|True",
        "SELECT 4|SELECT 3||True",
    ]
    assert transactions("SELECT 1;\nSELECT 2;", transactional=False) == ["SELECT 1|||False", "SELECT 2|||False"]


def test_concurrently_makes_the_runner_go_statement_by_statement() -> None:
    sql = 'SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" ("a");\nSELECT 2;'
    assert transactions(sql) == ["SELECT 1|||False", "SELECT 2|||False"]


def test_a_long_statement_is_shortened_between_words_never_inside_a_name() -> None:
    table = "github_integration_installations_for_every_workspace"
    sql = f'CREATE INDEX "github_integration_installations_idx" ON "{table}" ("installation_id", "workspace_id");'
    (finding,) = lint_sql(sql)
    assert finding.statement == 'CREATE INDEX "github_integration_installations_idx" ON …'
    assert len(finding.statement) <= 100
