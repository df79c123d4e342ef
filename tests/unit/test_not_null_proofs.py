"""A validated CHECK (col IS NOT NULL) makes SET NOT NULL a catalog update: what the deploy plan predicts for it."""

from __future__ import annotations

from pglast import parse_sql

from drizzle_ops.analysis.lockinfo import analyse
from drizzle_ops.analysis.sqlast import NotNullProofs

SET_NOT_NULL = 'ALTER TABLE "posts" ALTER COLUMN "title" SET NOT NULL'


def proofs_after(*statements: str) -> NotNullProofs:
    proofs = NotNullProofs()
    for text in statements:
        for raw in parse_sql(text):
            proofs.see(raw.stmt)
    return proofs


def effect(proofs: NotNullProofs) -> tuple[str, bool, list[str]]:
    [table] = analyse(parse_sql(SET_NOT_NULL)[0].stmt, proofs.proven).tables
    return table.lock, table.scan, table.why


def test_set_not_null_scans_unless_a_validated_check_proves_the_column() -> None:
    assert effect(NotNullProofs()) == ("ACCESS EXCLUSIVE", True, ["set title not null"])
    proven = proofs_after(
        'ALTER TABLE "posts" ADD CONSTRAINT "nn" CHECK ("title" IS NOT NULL) NOT VALID',
        'ALTER TABLE "posts" VALIDATE CONSTRAINT "nn"',
    )
    assert effect(proven) == ("ACCESS EXCLUSIVE", False, ["set title not null (a validated CHECK proves it: no scan)"])


def test_a_check_not_validated_or_dropped_first_proves_nothing() -> None:
    add = 'ALTER TABLE "posts" ADD CONSTRAINT "nn" CHECK ("title" IS NOT NULL) NOT VALID'
    assert proofs_after(add).proven == set()
    assert (
        proofs_after(
            add, 'ALTER TABLE "posts" DROP CONSTRAINT "nn"', 'ALTER TABLE "posts" VALIDATE CONSTRAINT "nn"'
        ).proven
        == set()
    )
    assert proofs_after('ALTER TABLE "posts" ADD CONSTRAINT "nn" CHECK ("title" IS NOT NULL)').proven == {
        (("public", "posts"), "title")
    }
    other = proofs_after(add.replace('"posts"', '"users"'), 'ALTER TABLE "users" VALIDATE CONSTRAINT "nn"')
    assert effect(other)[1] is True  # another table's column
