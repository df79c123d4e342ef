"""adding-field-with-default: ADD COLUMN whose value must be written into every existing row."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ConstrType

from drizzle_ops.analysis.sqlast import (
    added_column,
    column_constraints,
    column_has,
    dotted,
    is_serial,
    table_name,
    walk,
)
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import NEW_TABLE_EXEMPTION, Rule, RuleContext, Statement, Violation
from drizzle_ops.lint.volatility import Volatility

FAST_DEFAULTS = 11  # PostgreSQL 11 stores a non-volatile default in the catalogue instead of in every row


def _is_null(expr: ast.Node | None) -> bool:
    """DEFAULT NULL (maybe cast): no default at all, nothing to write."""
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, ast.A_Const) and bool(expr.isnull)


def _declared(context: RuleContext) -> dict[str, tuple[Volatility, Statement]]:
    """Functions that the migrations themselves create, by unqualified name, with their declared volatility.

    CREATE FUNCTION without IMMUTABLE or STABLE makes a VOLATILE function.
    """
    found: dict[str, tuple[Volatility, Statement]] = {}
    for earlier in context.applied_before:
        node = earlier.node
        if not isinstance(node, ast.CreateFunctionStmt) or node.is_procedure:
            continue
        volatility = Volatility.VOLATILE
        for option in node.options or ():
            if (
                isinstance(option, ast.DefElem)
                and option.defname == "volatility"
                and isinstance(option.arg, ast.String)
            ):
                volatility = Volatility.parse(option.arg.sval)
        found[dotted(node.funcname).rsplit(".", 1)[-1]] = (volatility, earlier)
    return found


def _volatile_call(expr: ast.Node, context: RuleContext) -> tuple[str, str] | None:
    """The first volatile function the expression calls, and how we know it is volatile."""
    declared: dict[str, tuple[Volatility, Statement]] | None = None
    for node in walk(expr):
        if not isinstance(node, ast.FuncCall):
            continue
        name = dotted(node.funcname)  # the parser folded unquoted names already
        if declared is None:
            declared = _declared(context)
        if (bare := name.rsplit(".", 1)[-1]) in declared:
            volatility, where = declared[bare]
            how = f"created {volatility.value.upper()} by the CREATE FUNCTION at line {where.line}"
        else:
            found, how = context.function_volatility(name)
            volatility = found or Volatility.IMMUTABLE
        if volatility is Volatility.VOLATILE:
            return name, how
    return None


def volatile_default(column: ast.ColumnDef, context: RuleContext) -> ast.Node | None:
    """The column's DEFAULT expression when it calls a volatile function (as this rule judges it), else None."""
    for constraint in column_constraints(column):
        expr = constraint.raw_expr if constraint.contype is ConstrType.CONSTR_DEFAULT else None
        if expr is not None and not _is_null(expr) and _volatile_call(expr, context) is not None:
            return expr
    return None


def _rewrite(column: ast.ColumnDef, context: RuleContext) -> str | None:
    """Why adding this column writes every row, or None when it is only a catalogue change."""
    for constraint in column_constraints(column):
        if constraint.contype is ConstrType.CONSTR_GENERATED and constraint.generated_kind != "v":
            return "GENERATED ALWAYS AS (…) STORED computes the column for every existing row"
        if constraint.contype is ConstrType.CONSTR_IDENTITY:
            return "AS IDENTITY numbers every existing row from its sequence"
    if is_serial(column) and not column_has(column, ConstrType.CONSTR_PRIMARY):  # adding-serial-primary-key-field's
        return "a serial column's DEFAULT nextval() is volatile: every existing row gets its own number"
    for constraint in column_constraints(column):
        if constraint.contype is not ConstrType.CONSTR_DEFAULT or constraint.raw_expr is None:
            continue
        if _is_null(constraint.raw_expr):
            return None
        if context.pg_version < FAST_DEFAULTS:
            return "before PostgreSQL 11 every non-null DEFAULT is written into every existing row"
        call = _volatile_call(constraint.raw_expr, context)
        if call is not None:
            name, how = call
            return f"its DEFAULT calls {name}(), which is volatile ({how}), so it is evaluated for every row"
    return None


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    for cmd in commands:
        column = added_column(cmd)
        if column is None:
            continue
        why = _rewrite(column, context)
        if why is not None:
            yield Violation(
                f"ADD COLUMN {column.colname} rewrites all of {table_name(relation)} and its indexes under an "
                f"ACCESS EXCLUSIVE lock (no reads, no writes): {why}; {context.assumed_version}"
            )


RULE = Rule(
    id="adding-field-with-default",
    squawk="adding-field-with-default",
    severity=Severity.WARNING,
    summary="Add a column with a volatile DEFAULT, a stored generated value or a serial/identity in steps.",
    problem=(
        "Since PostgreSQL 11, ADD COLUMN … DEFAULT with a constant or a non-volatile expression (now(), "
        "CURRENT_TIMESTAMP, 'active') is instant: the value is kept in the catalogue. A volatile default "
        "(gen_random_uuid(), random(), clock_timestamp(), nextval(), so also serial and identity columns) "
        "and GENERATED ALWAYS AS (…) STORED must be computed for each row, so Postgres rewrites the whole "
        "table and its indexes under an ACCESS EXCLUSIVE lock; before 11 any non-null default does. "
        "Drizzle's `.defaultRandom()` on a new uuid column of an existing table is the usual case. "
        "A warning like the other rules whose lock grows with the table: an outage on a large table, nothing "
        "on a small one. Volatility comes from the database's catalogue when lint is given one; "
        "offline from a list of common volatile functions, and a function that is not on it counts as "
        "non-volatile. A function created by the migrations counts as declared (VOLATILE if it says nothing)."
    ),
    fix=(
        "Add the column without the default, set the default in a second statement (ALTER COLUMN … SET DEFAULT "
        "only affects new rows), then backfill existing rows in batches, in a migration of its own "
        "(`-- drizzle-ops: batch rows=N` above the UPDATE); make it NOT NULL afterwards with a validated CHECK "
        "(see adding-not-nullable-field). `lint --fix` writes all of it for a volatile DEFAULT."
    ),
    bad='ALTER TABLE "users" ADD COLUMN "token" uuid DEFAULT gen_random_uuid() NOT NULL;',
    good=(
        'ALTER TABLE "users" ADD COLUMN "token" uuid;\n'
        'ALTER TABLE "users" ALTER COLUMN "token" SET DEFAULT gen_random_uuid();\n'
        "-- then, in a migration of its own (generate --custom), filled in batches:\n"
        "-- -- drizzle-ops: batch rows=1000\n"
        '-- UPDATE "users" SET "token" = gen_random_uuid() WHERE "token" IS NULL;'
    ),
    squawk_differences=(
        NEW_TABLE_EXEMPTION,
        (
            "Offline, only functions on drizzle-ops' list of common volatile functions are flagged; squawk flags "
            "every function outside its list of built-in non-volatile ones and any call with arguments (a "
            "user-defined function, lower('X'), pg_catalog.now(), and (now() + interval '1 day') in parentheses). "
            "Connected, "
            "drizzle-ops reads pg_proc.provolatile instead of guessing."
        ),
        (
            "CURRENT_DATE, LOCALTIMESTAMP and other SQL value functions, and a parenthesised constant expression, "
            "are not flagged: they are stable or immutable. squawk accepts CURRENT_TIMESTAMP only."
        ),
        (
            "A serial column is flagged: its DEFAULT nextval() is volatile, so the table is rewritten. squawk "
            "does not flag it here (it sees no DEFAULT clause)."
        ),
        (
            "A VIRTUAL generated column (PostgreSQL 18) is not flagged: it is computed on read and nothing is "
            "rewritten. squawk flags every GENERATED column."
        ),
        (
            "On PostgreSQL 10 and older, DEFAULT NULL is not flagged: a null default is no default and writes "
            "nothing. squawk flags it."
        ),
    ),
    check=check,
)
