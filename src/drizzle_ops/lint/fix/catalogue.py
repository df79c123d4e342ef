"""For every rule: what `lint --fix` rewrites its findings into, or why it leaves them to a person."""

from __future__ import annotations

from drizzle_ops.lint.fix import rewrites as r

# rule id -> what the fix writes instead (the details, locks and versions: README "Safe by default")
FIXES: dict[str, str] = {
    r.INDEX_BUILD: "CREATE INDEX becomes DROP INDEX CONCURRENTLY IF EXISTS (an INVALID one a failed build left) "
    "and CREATE INDEX CONCURRENTLY, with COMMIT before them and BEGIN after them.",
    r.INDEX_DROP: "DROP INDEX becomes DROP INDEX CONCURRENTLY IF EXISTS, with COMMIT before it and BEGIN after it "
    "(one index, no CASCADE).",
    r.NOT_VALID: "ADD CONSTRAINT … CHECK or FOREIGN KEY becomes … NOT VALID, then COMMIT, BEGIN and VALIDATE "
    "CONSTRAINT; a VALIDATE in the transaction of its NOT VALID add gets COMMIT and BEGIN before it.",
    r.FOREIGN_KEY: "ADD CONSTRAINT … FOREIGN KEY becomes … NOT VALID, then COMMIT, BEGIN and VALIDATE CONSTRAINT.",
    r.NOT_NULL: "SET NOT NULL becomes ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, COMMIT, BEGIN, "
    "VALIDATE CONSTRAINT, SET NOT NULL (which skips its scan since PostgreSQL 12), DROP CONSTRAINT.",
    r.UNIQUE: "ADD CONSTRAINT … UNIQUE becomes CREATE UNIQUE INDEX CONCURRENTLY, after a DROP INDEX CONCURRENTLY "
    "IF EXISTS (between COMMIT and BEGIN), then ADD CONSTRAINT … UNIQUE USING INDEX.",
    r.PRIMARY_KEY: "ADD CONSTRAINT … PRIMARY KEY becomes CREATE UNIQUE INDEX CONCURRENTLY, after a DROP INDEX "
    "CONCURRENTLY IF EXISTS (between COMMIT and BEGIN), its columns proven NOT NULL as for "
    "adding-not-nullable-field where the migrations do not show them NOT NULL, then ADD CONSTRAINT … "
    "PRIMARY KEY USING INDEX.",
    r.FIELD_DEFAULT: "ADD COLUMN … DEFAULT <volatile> [NOT NULL] becomes ADD COLUMN (no default, no NOT NULL) and "
    "ALTER COLUMN … SET DEFAULT, then COMMIT and BEGIN at the end of the file; after it, in the newest migration "
    "only, new migrations made with the workspace's drizzle-kit (generate --custom): a batched backfill "
    "(`-- drizzle-ops: batch rows=1000`, UPDATE … SET col = <default> WHERE col IS NULL) per column, then the "
    "NOT NULL proven as for adding-not-nullable-field. Not for a serial, identity or stored generated column, a "
    "table the migrations give no primary key, or a column with other constraints.",
    r.CONCURRENT_IN_TRANSACTION: "puts COMMIT before the CONCURRENTLY statement and BEGIN after it.",
    r.ENUM_VALUE: "an ADD VALUE that Postgres rejects where it stands (used later in its own transaction, or "
    "in a transaction before PostgreSQL 12) becomes ADD VALUE IF NOT EXISTS between COMMIT and BEGIN; "
    "that a value cannot be removed stays a warning.",
}

# rule id -> why lint --fix leaves its findings as they are
NO_FIX: dict[str, str] = {
    "adding-required-field": "the value of the rows already there is yours to choose: give the column a DEFAULT, "
    "or add it nullable, backfill it, then SET NOT NULL",
    "changing-column-type": "a type change that rewrites the table needs a new column, writes to both, a "
    "backfill and a switch of the application: steps only you can order",
    "renaming-column": "a rename breaks the application version still running: keep the column's name and "
    "rename the field in the Drizzle schema only, or add, dual-write, backfill and drop",
    "renaming-table": "a rename breaks the application version still running: keep the table's name and "
    "rename it in the Drizzle schema only, or move the data in steps",
    "ban-drop-column": "dropping data is a decision: deploy code that no longer uses the column, then "
    "ignore the rule on that statement",
    "ban-drop-table": "dropping data is a decision: deploy code that no longer uses the table, then "
    "ignore the rule on that statement",
    "require-resumable-batch": "which rows are done is the author's to say: give the table a primary key, add "
    "a WHERE that leaves out the rows the statement already changed, and keep the statement alone in its file",
    "transaction-nesting": "the file's own transaction control is its author's: lint --fix does not move it",
    "prefer-robust-stmts": "guards (IF NOT EXISTS, IF EXISTS) change what a rerun does: add them by hand "
    "(the statements lint --fix writes outside a transaction are rerunnable)",
}


def why_not(rule_id: str) -> str:
    """Why lint --fix leaves a finding of this rule (for a rule it fixes: why not this one)."""
    return NO_FIX.get(rule_id, "this statement has no automatic fix")
