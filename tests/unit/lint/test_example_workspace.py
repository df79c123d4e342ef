"""Lint the example workspace: real drizzle-kit 0.31 output, migrations 0000-0007."""

from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.lint import lint_workspace
from tests.helpers import EXAMPLE


def findings() -> list[tuple[str, int, str, str]]:
    found = lint_workspace(load_workspace(EXAMPLE), base=EXAMPLE)
    return [(f.file or "", f.line, f.rule, f.severity.value) for f in found]


def test_exact_findings_of_the_example_workspace() -> None:
    assert findings() == [
        # CHECK constraints added to tables that 0001/0002 created: a scan under a write lock
        ("drizzle/0004_profile_and_moc_details.sql", 6, "constraint-missing-not-valid", "warning"),
        ("drizzle/0004_profile_and_moc_details.sql", 7, "constraint-missing-not-valid", "warning"),
        # irreversible, and unusable until 0006 commits
        ("drizzle/0006_moc_parts_lists.sql", 1, "adding-enum-value", "warning"),
    ]


def test_0007_index_and_foreign_key_on_its_new_table_are_not_flagged() -> None:
    # 0007 creates wishlist_items, then adds its FK and two plain CREATE INDEX: all fine in one transaction
    assert not [f for f in findings() if "0007" in f[0]]
