"""Parity with squawk: run the real squawk binary and our linter over the same corpus.

For every rule that squawk also has, both must give the same verdict (flagged or
not) on every corpus file and on every migration of the example workspace, except
the cases listed in INTENTIONAL_DIFFERENCES, each with the reason. Each of those
rules also documents the difference in its ``squawk_differences`` (docs/lint-rules.md).

adding-enum-value is ours: squawk 2.70 has no rule about ALTER TYPE … ADD VALUE being
irreversible or unusable in its transaction (its require-enum-value-ordering asks for
BEFORE/AFTER), so it is not compared.

Transactional files are given to squawk with --assume-in-transaction, as our runner
wraps each migration in one transaction; `-- drizzle-ops: no-transaction` files are not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from drizzle_ops.lint import ALL_RULES, is_marked_no_transaction, lint_sql, rule_by_id
from tests.helpers import EXAMPLE, require

SQUAWK_VERSION = "2.70.0"  # pinned in the dev dependency group; verdicts change between versions
CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.sql")) + sorted((EXAMPLE / "drizzle").glob("*.sql"))
PARITY_RULES = sorted(rule.id for rule in ALL_RULES if rule.squawk)

_NEW_TABLE = "the table is created earlier in the same migration: empty and invisible, so no scan and no blocking"
INTENTIONAL_DIFFERENCES: dict[tuple[str, str], str] = {
    ("anf_set_not_null_new_table.sql", "adding-not-nullable-field"): _NEW_TABLE,
    ("arf_new_table.sql", "adding-required-field"): _NEW_TABLE,
    ("cct_new_table.sql", "changing-column-type"): _NEW_TABLE,
    ("arf_serial_not_null.sql", "adding-required-field"): "a serial column has DEFAULT nextval(): not required",
    ("arf_serial_column.sql", "adding-required-field"): "a serial column has DEFAULT nextval(): not required",
    ("arf_serial_not_null.sql", "adding-field-with-default"): (
        "a serial column's DEFAULT nextval() is volatile: adding it rewrites the table"
    ),
    ("arf_primary_key_column.sql", "adding-required-field"): (
        "ADD COLUMN … PRIMARY KEY without a default implies NOT NULL and fails on a populated table"
    ),
    ("aspk_add_primary_key.sql", "constraint-missing-not-valid"): (
        "PRIMARY KEY cannot be NOT VALID; adding-serial-primary-key-field reports it with advice that works"
    ),
    ("duc_add_unique.sql", "constraint-missing-not-valid"): (
        "UNIQUE cannot be NOT VALID; disallowed-unique-constraint reports it with advice that works"
    ),
    ("bcict_drop_index_concurrently.sql", "ban-concurrent-index-creation-in-transaction"): (
        "DROP INDEX CONCURRENTLY fails inside a transaction block just like CREATE INDEX CONCURRENTLY"
    ),
    ("robust_enum_add_value_no_transaction.sql", "prefer-robust-stmts"): (
        "ADD VALUE without IF NOT EXISTS fails on a rerun (enum label already exists)"
    ),
    ("bcict_with_other_statements.sql", "prefer-robust-stmts"): (
        "the runner detects CONCURRENTLY and runs the file without a transaction, so its unguarded ADD COLUMN "
        "matters; squawk, told to assume a transaction, skips it"
    ),
    ("robust_idempotent_alter.sql", "prefer-robust-stmts"): "SET/DROP DEFAULT can run twice: nothing to guard",
    ("robust_unnamed_concurrent_index.sql", "prefer-robust-stmts"): (
        "a failed unnamed CONCURRENTLY build leaves an INVALID index and the rerun builds another"
    ),
    ("robust_row_level_security.sql", "prefer-robust-stmts"): "ENABLE ROW LEVEL SECURITY can run twice",
    ("robust_temp_table.sql", "prefer-robust-stmts"): "a temporary table is gone when the rerun's session starts",
    ("afwd_new_table.sql", "adding-field-with-default"): _NEW_TABLE,
    ("afwd_unknown_function.sql", "adding-field-with-default"): (
        "offline only functions on the list of common volatile ones count; connected, pg_proc decides"
    ),
    ("afwd_current_date.sql", "adding-field-with-default"): "CURRENT_DATE is stable: the default is instant",
    ("cmnv_validate_after_rollback.sql", "constraint-missing-not-valid"): (
        "ROLLBACK ends the transaction like COMMIT: the VALIDATE runs in a transaction of its own"
    ),
    ("anf_validate_unknown_constraint.sql", "adding-not-nullable-field"): (
        "a VALIDATE of a constraint this migration does not show proves nothing about the column"
    ),
    ("tn_savepoint_release.sql", "transaction-nesting"): (
        "a migration file cannot catch an error, so SAVEPOINT and RELEASE protect nothing (squawk flags only "
        "ROLLBACK TO)"
    ),
    ("tn_prepare_transaction.sql", "transaction-nesting"): (
        "PREPARE TRANSACTION fails under the default max_prepared_transactions = 0 and otherwise leaves the "
        "migration's locks held until someone commits it"
    ),
    ("tn_marked_savepoint_outside_transaction.sql", "transaction-nesting"): (
        "a savepoint outside BEGIN … COMMIT fails: Postgres allows them only in a transaction block"
    ),
    ("tn_marked_begin_never_committed.sql", "transaction-nesting"): (
        "a BEGIN that nothing in the file commits; squawk reports it as ban-uncommitted-transaction instead"
    ),
}


def squawk_version(binary: str) -> str | None:
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a Python that lacks squawk-cli
    return result.stdout.split()[-1] if result.stdout.split() else None


def squawk_binary() -> str | None:
    """The binary the squawk-cli wheel installs next to this Python, else one on PATH that runs."""
    beside = Path(sysconfig.get_path("scripts")) / "squawk"
    for candidate in (str(beside) if beside.is_file() else None, shutil.which("squawk")):
        if candidate and squawk_version(candidate):
            return candidate
    return None


def run_squawk(binary: str, files: list[Path], *, in_transaction: bool) -> dict[str, set[str]]:
    if not files:
        return {}
    args = [binary, "--reporter", "json", "--pg-version", "14.0"]
    args += ["--assume-in-transaction"] if in_transaction else []
    result = subprocess.run(
        [*args, *map(str, files)], capture_output=True, text=True, timeout=120, cwd=CORPUS, check=False
    )
    assert result.returncode in (0, 1), result.stderr  # 1: squawk found something
    verdicts: dict[str, set[str]] = {f.name: set() for f in files}
    for finding in json.loads(result.stdout or "[]"):
        verdicts[Path(finding["file"]).name].add(finding["rule_name"])
    return verdicts


@pytest.fixture(scope="module")
def squawk() -> dict[str, set[str]]:
    binary = squawk_binary()
    require(binary is not None, f"squawk is not installed (pip install squawk-cli=={SQUAWK_VERSION}, in the dev group)")
    assert binary is not None
    version = squawk_version(binary)
    assert version == SQUAWK_VERSION, f"parity is pinned to squawk {SQUAWK_VERSION}, found {version}"
    texts = {path: path.read_text(encoding="utf-8") for path in FILES}
    transactional = [p for p in FILES if not is_marked_no_transaction(texts[p])]
    other = [p for p in FILES if is_marked_no_transaction(texts[p])]
    return run_squawk(binary, transactional, in_transaction=True) | run_squawk(binary, other, in_transaction=False)


def ours() -> dict[str, set[str]]:
    return {p.name: {f.rule for f in lint_sql(p.read_text(encoding="utf-8"), path=p.name)} for p in FILES}


def test_same_verdict_as_squawk_for_every_rule_we_share(squawk: dict[str, set[str]]) -> None:
    mine = ours()
    unexpected, stale = [], []
    for name in sorted(mine):
        for rule in PARITY_RULES:
            theirs, our = rule in squawk[name], rule in mine[name]
            listed = (name, rule) in INTENTIONAL_DIFFERENCES
            if theirs != our and not listed:
                unexpected.append(
                    f"{name}: {rule}: squawk {'flags' if theirs else 'passes'}, we {'flag' if our else 'pass'}"
                )
            if theirs == our and listed:
                stale.append(f"{name}: {rule} is listed as a difference but both agree")
    assert not unexpected, "\n".join(unexpected)
    assert not stale, "\n".join(stale)


def test_every_shared_rule_is_exercised_both_ways(squawk: dict[str, set[str]]) -> None:
    mine = ours()
    for rule in PARITY_RULES:
        both_flag = [n for n in mine if rule in mine[n] and rule in squawk[n]]
        assert both_flag, f"no corpus file that both squawk and we flag for {rule}"


def test_every_difference_is_documented_on_its_rule() -> None:
    for name, rule_id in INTENTIONAL_DIFFERENCES:
        assert rule_by_id(rule_id).squawk_differences, f"{rule_id} differs from squawk but its docs do not say so"
        assert (CORPUS / name).is_file()


def test_squawk_has_the_ids_we_claim(squawk: dict[str, set[str]]) -> None:
    flagged_by_squawk = set().union(*squawk.values())
    for rule in ALL_RULES:
        if rule.squawk:
            assert rule.squawk == rule.id and rule.squawk in flagged_by_squawk
