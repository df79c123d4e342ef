"""adding-foreign-key-constraint: a validated FOREIGN KEY added to an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from drizzle_ops.analysis.sqlast import added_column, added_constraint, column_constraints, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    for cmd in commands:
        column = added_column(cmd)
        constraints = column_constraints(column) if column is not None else [added_constraint(cmd)]
        for constraint in constraints:
            if constraint is None or constraint.contype is not ConstrType.CONSTR_FOREIGN:
                continue
            if constraint.skip_validation:
                continue
            target = table_name(constraint.pktable)
            yield Violation(
                f"adding a foreign key to {table_name(relation)} scans it while blocking writes "
                f"to both {table_name(relation)} and {target}"
            )


RULE = Rule(
    id="adding-foreign-key-constraint",
    squawk="adding-foreign-key-constraint",
    severity=Severity.WARNING,
    summary="Add foreign keys to existing tables as NOT VALID, validate later.",
    problem=(
        "Adding a FOREIGN KEY takes SHARE ROW EXCLUSIVE locks on the table and on the table it "
        "references, then checks every existing row: writes to both tables wait for the whole scan. "
        "drizzle-kit adds every foreign key this way. On a table created earlier in the same migration "
        "it is harmless (the table is empty)."
    ),
    fix=(
        "Add the foreign key with NOT VALID (instant), then ALTER TABLE … VALIDATE CONSTRAINT in a "
        "later migration, which allows writes while it scans."
    ),
    bad=(
        'ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk"\n'
        '  FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");'
    ),
    good=(
        'ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk"\n'
        '  FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") NOT VALID;\n'
        '-- in the next migration:\nALTER TABLE "user_sets" VALIDATE CONSTRAINT "user_sets_user_id_users_id_fk";'
    ),
    check=check,
)
