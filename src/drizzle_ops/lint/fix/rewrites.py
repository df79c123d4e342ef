"""The safe version of one flagged statement, built on its parse tree and printed by pglast.

Each rewrite keeps what the statement does to the catalog (the same index, constraint or NOT NULL
in the end) and changes only how it gets there: CONCURRENTLY instead of a write-blocking build,
NOT VALID then VALIDATE instead of a scan under a strong lock. Where that cannot be done, the
statement stays as it is and the reason says why. A column added with a volatile DEFAULT is the
one rewrite that needs more than its own file: the rows already there get their values from a
backfill (a ``Backfill``, which fixer.py turns into migrations of their own), and its NOT NULL comes
after that.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import (
    AlterTableType,
    ConstrType,
    DropBehavior,
    NullTestType,
    ObjectType,
    SortByDir,
    SortByNulls,
)
from pglast.stream import RawStream

from drizzle_ops.analysis.pg_versions import ADD_ENUM_VALUE_IN_TRANSACTION, CHECK_PROVES_NOT_NULL, NOT_NULL_CONSTRAINTS
from drizzle_ops.analysis.sqlast import (
    TableKey,
    added_column,
    added_constraint,
    alter_table_commands,
    column_constraints,
    is_concurrent_index_operation,
    is_serial,
    table_key,
)
from drizzle_ops.lint.fix.steps import Step
from drizzle_ops.lint.rule import RuleContext, Statement
from drizzle_ops.lint.rules.adding_enum_value import used_later_in_transaction
from drizzle_ops.lint.rules.adding_field_with_default import FAST_DEFAULTS, volatile_default
from drizzle_ops.lint.rules.constraint_missing_not_valid import CAN_BE_NOT_VALID
from drizzle_ops.lint.rules.require_resumable_batch import primary_key_known

# the rules whose findings a rewrite removes, by what it rewrites
INDEX_BUILD = "require-concurrent-index-creation"
INDEX_DROP = "require-concurrent-index-deletion"
NOT_VALID = "constraint-missing-not-valid"
FOREIGN_KEY = "adding-foreign-key-constraint"
NOT_NULL = "adding-not-nullable-field"
UNIQUE = "disallowed-unique-constraint"
PRIMARY_KEY = "adding-serial-primary-key-field"
CONCURRENT_IN_TRANSACTION = "ban-concurrent-index-creation-in-transaction"
ENUM_VALUE = "adding-enum-value"
FIELD_DEFAULT = "adding-field-with-default"

_ALTER_TABLE_RULES = frozenset({NOT_VALID, FOREIGN_KEY, NOT_NULL, UNIQUE, PRIMARY_KEY, FIELD_DEFAULT})
_NAMEDATALEN = 63  # the bytes of an identifier Postgres keeps
_VALUE_STAYS = "a value added to an enum cannot be removed again: nothing to rewrite"


@dataclass(frozen=True)
class Backfill:
    """A column added without its volatile DEFAULT: the rows already there get its value from a batched UPDATE
    in a migration of its own, and its NOT NULL (if it had one) comes after that."""

    relation: ast.RangeVar
    column: str
    default: ast.Node  # the DEFAULT expression, evaluated for each row
    not_null: bool

    @property
    def key(self) -> tuple[str, str, str]:
        schema, table = table_key(self.relation)
        return schema, table, self.column


@dataclass
class Rewrite:
    """What becomes of one statement: its steps (None: it stays as it is), and per rule, fixed or why not."""

    steps: list[Step] | None = None
    fixed: set[str] = field(default_factory=set)
    unfixed: dict[str, str] = field(default_factory=dict)  # rule id -> why lint --fix leaves it
    backfills: list[Backfill] = field(default_factory=list)  # what the migrations after this one must do


def printed(node: ast.Node) -> str:
    return str(RawStream()(node))


def _alter(relation: ast.RangeVar, command: ast.AlterTableCmd, *, missing_ok: bool = False) -> str:
    return printed(
        ast.AlterTableStmt(relation=relation, cmds=(command,), objtype=ObjectType.OBJECT_TABLE, missing_ok=missing_ok)
    )


def _validate(relation: ast.RangeVar, name: str, *, missing_ok: bool) -> Step:
    command = ast.AlterTableCmd(subtype=AlterTableType.AT_ValidateConstraint, name=name, behavior=0)
    return Step(_alter(relation, command, missing_ok=missing_ok), validates=True)


def _identifier(*parts: str) -> str:
    """parts joined by _, cut to the 63 bytes Postgres keeps (never inside a character)."""
    name = "_".join(parts)
    while len(name.encode()) > _NAMEDATALEN:
        name = name[:-1]
    return name


def _partitioned(context: RuleContext) -> set[TableKey]:
    """Tables the migrations created PARTITION BY: no CONCURRENTLY and no NOT VALID foreign key on them."""
    return {
        table_key(s.node.relation)
        for s in context.applied_before
        if isinstance(s.node, ast.CreateStmt) and s.node.partspec is not None and s.node.relation is not None
    }


def _not_null_columns(context: RuleContext, table: TableKey) -> set[str]:
    """The columns of ``table`` that the migrations made NOT NULL (declared so, a primary key, SET NOT NULL)."""
    found: set[str] = set()

    def declared(column: ast.ColumnDef) -> None:
        kinds = {c.contype for c in column_constraints(column)}
        if kinds & {ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY} and column.colname:
            found.add(column.colname)

    for earlier in context.applied_before:
        node = earlier.node
        if isinstance(node, ast.CreateStmt) and node.relation is not None and table_key(node.relation) == table:
            found.clear()
            for element in node.tableElts or ():
                if isinstance(element, ast.ColumnDef):
                    declared(element)
                elif isinstance(element, ast.Constraint) and element.contype is ConstrType.CONSTR_PRIMARY:
                    found.update(str(key.sval) for key in element.keys or () if isinstance(key, ast.String))
            continue
        relation = getattr(node, "relation", None)
        if relation is None or table_key(relation) != table:
            continue
        for command in alter_table_commands(node):
            column = added_column(command)
            if column is not None:
                declared(column)
            elif command.subtype is AlterTableType.AT_SetNotNull and command.name:
                found.add(command.name)
            elif command.subtype in (AlterTableType.AT_DropNotNull, AlterTableType.AT_DropColumn) and command.name:
                found.discard(command.name)
    return found


def rewrite(statement: Statement, context: RuleContext, broken: frozenset[str]) -> Rewrite:
    """The rewrite of a statement that broke the rules ``broken`` (None steps when nothing changes)."""
    node = statement.node
    if isinstance(node, ast.IndexStmt) and INDEX_BUILD in broken:
        return _index_build(node, context)
    if isinstance(node, ast.DropStmt) and INDEX_DROP in broken:
        return _index_drop(node)
    if isinstance(node, ast.AlterTableStmt) and broken & _ALTER_TABLE_RULES:
        return _alter_table(node, context, broken)
    if isinstance(node, ast.AlterEnumStmt) and ENUM_VALUE in broken:
        return _enum_value(node, context)
    return Rewrite()


def _index_build(node: ast.IndexStmt, context: RuleContext) -> Rewrite:
    if node.relation is not None and table_key(node.relation) in _partitioned(context):
        return Rewrite(unfixed={INDEX_BUILD: "Postgres cannot build an index on a partitioned table CONCURRENTLY"})
    safe = copy.deepcopy(node)
    safe.concurrent = True
    return Rewrite(_concurrent_build(safe), {INDEX_BUILD})


def _concurrent_build(index: ast.IndexStmt) -> list[Step]:
    """A CONCURRENTLY build that a rerun repeats safely: a named index is first dropped IF EXISTS.

    Not IF NOT EXISTS: a failed concurrent build leaves an INVALID index behind, which IF NOT EXISTS would
    keep on the rerun (never used by queries, still written by every insert). Dropping it first rebuilds it.
    An index written IF NOT EXISTS by hand keeps its author's meaning (it may exist already, valid).
    """
    build = Step(printed(index), outside=True)
    if index.idxname is None or index.if_not_exists or index.relation is None:
        return [build]
    schema = index.relation.schemaname
    name = (ast.String(schema), ast.String(index.idxname)) if schema else (ast.String(index.idxname),)
    drop = ast.DropStmt(
        objects=(name,),
        removeType=ObjectType.OBJECT_INDEX,
        behavior=DropBehavior.DROP_RESTRICT,
        missing_ok=True,
        concurrent=True,
    )
    return [Step(printed(drop), outside=True), build]


def _index_drop(node: ast.DropStmt) -> Rewrite:
    if len(node.objects or ()) != 1 or node.behavior is DropBehavior.DROP_CASCADE:
        return Rewrite(
            unfixed={
                INDEX_DROP: "DROP INDEX CONCURRENTLY drops one index and takes no CASCADE: "
                "write one DROP INDEX per index (and drop what depends on it first)"
            }
        )
    safe = copy.deepcopy(node)
    safe.concurrent, safe.missing_ok = True, True
    return Rewrite([Step(printed(safe), outside=True)], {INDEX_DROP})


def _enum_value(node: ast.AlterEnumStmt, context: RuleContext) -> Rewrite:
    """An ADD VALUE that Postgres rejects where it stands: in a transaction before 12, or used in its own."""
    value = node.newVal
    if node.oldVal is not None or value is None or not context.in_transaction:
        return Rewrite()
    used = used_later_in_transaction(value, context)
    if not used and context.pg_version >= ADD_ENUM_VALUE_IN_TRANSACTION:
        return Rewrite(unfixed={ENUM_VALUE: _VALUE_STAYS})
    safe = copy.deepcopy(node)
    safe.skipIfNewValExists = True
    return Rewrite([Step(printed(safe), outside=True)], {ENUM_VALUE}, {ENUM_VALUE: _VALUE_STAYS})


@dataclass
class _Parts:
    """The steps of an ALTER TABLE's subcommands, in their order, by when they run."""

    early: list[Step] = field(default_factory=list)  # in the current transaction: the NOT VALID adds
    outside: list[Step] = field(default_factory=list)  # the concurrent index builds
    validations: list[Step] = field(default_factory=list)
    late: list[Step] = field(default_factory=list)  # SET NOT NULL, ADD … USING INDEX, DROP CONSTRAINT

    def steps(self) -> list[Step]:
        return [*self.early, *self.outside, *self.validations, *self.late]


def _alter_table(node: ast.AlterTableStmt, context: RuleContext, broken: frozenset[str]) -> Rewrite:
    relation = node.relation
    if relation is None:
        return Rewrite()
    result = Rewrite()
    kept: list[ast.AlterTableCmd] = []  # subcommands that need nothing, in one ALTER TABLE of their own
    parts: list[tuple[ast.AlterTableCmd, _Parts | None]] = []
    for command in alter_table_commands(node):
        done = _command(command, relation, bool(node.missing_ok), context, broken, result)
        parts.append((command, done))
    if not any(done is not None for _, done in parts):
        return result
    steps: list[Step] = []
    for command, done in parts:
        if done is None:
            kept.append(command)
            continue
        if kept:
            steps.append(Step(_alter_many(node, kept)))
            kept = []
        steps += done.steps()
    if kept:
        steps.append(Step(_alter_many(node, kept)))
    result.steps = steps
    return result


def _alter_many(node: ast.AlterTableStmt, commands: Sequence[ast.AlterTableCmd]) -> str:
    return printed(
        ast.AlterTableStmt(
            relation=node.relation, cmds=tuple(commands), objtype=ObjectType.OBJECT_TABLE, missing_ok=node.missing_ok
        )
    )


def _command(
    command: ast.AlterTableCmd,
    relation: ast.RangeVar,
    missing_ok: bool,
    context: RuleContext,
    broken: frozenset[str],
    result: Rewrite,
) -> _Parts | None:
    """The steps of one subcommand, or None to keep it; what it fixed or could not goes into ``result``."""
    constraint = added_constraint(command)
    table = table_key(relation)
    if command.subtype is AlterTableType.AT_SetNotNull and NOT_NULL in broken and command.name:
        if context.pg_version < CHECK_PROVES_NOT_NULL:
            result.unfixed[NOT_NULL] = "before PostgreSQL 12 SET NOT NULL scans the table whatever proves it"
            return None
        result.fixed.add(NOT_NULL)
        return _proven_not_null(relation, [command.name], missing_ok, _Parts())
    if constraint is not None and not constraint.skip_validation and _can_be_not_valid(constraint, context):
        rules = broken & ({NOT_VALID, FOREIGN_KEY} if constraint.contype is ConstrType.CONSTR_FOREIGN else {NOT_VALID})
        if not rules:
            return None
        if not constraint.conname:
            result.unfixed.update(dict.fromkeys(rules, "the constraint has no name, so no VALIDATE can name it"))
            return None
        if constraint.contype is ConstrType.CONSTR_FOREIGN and table in _partitioned(context):
            result.unfixed.update(
                dict.fromkeys(rules, "Postgres takes no NOT VALID foreign key on a partitioned table")
            )
            return None
        safe = copy.deepcopy(command)
        unchecked = copy.deepcopy(constraint)
        unchecked.skip_validation, unchecked.initially_valid = True, False
        safe.def_ = unchecked
        result.fixed.update(rules)
        return _Parts(
            early=[Step(_alter(relation, safe, missing_ok=missing_ok))],
            validations=[_validate(relation, constraint.conname, missing_ok=missing_ok)],
        )
    if constraint is not None and constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
        rule = UNIQUE if constraint.contype is ConstrType.CONSTR_UNIQUE else PRIMARY_KEY
        if rule not in broken or constraint.indexname:
            return None
        return _unique(constraint, relation, missing_ok, context, rule, result)
    if constraint is not None and constraint.contype is ConstrType.CONSTR_EXCLUSION and NOT_VALID in broken:
        result.unfixed[NOT_VALID] = "an EXCLUDE constraint can be neither NOT VALID nor added USING INDEX"
        return None
    column = added_column(command)
    if column is not None and FIELD_DEFAULT in broken:
        added = _without_default(command, column, relation, missing_ok, context, result)
        if added is not None:
            return added
    if column is not None:
        for rule, kinds, why in _COLUMN_CONSTRAINTS:
            if rule in broken and any(c.contype in kinds for c in column_constraints(column)):
                result.unfixed[rule] = why
    if command.subtype is AlterTableType.AT_ValidateConstraint and NOT_VALID in broken:
        result.fixed.add(NOT_VALID)
        return _Parts(validations=[Step(_alter(relation, command, missing_ok=missing_ok), validates=True)])
    return None


_COLUMN_CONSTRAINTS = (
    (
        FOREIGN_KEY,
        {ConstrType.CONSTR_FOREIGN},
        "a REFERENCES on ADD COLUMN cannot be NOT VALID: add the column, then the foreign key with ADD CONSTRAINT",
    ),
    (
        UNIQUE,
        {ConstrType.CONSTR_UNIQUE},
        "a UNIQUE on ADD COLUMN builds its index at once: add the column, then the constraint with ADD CONSTRAINT",
    ),
    (
        PRIMARY_KEY,
        {ConstrType.CONSTR_PRIMARY},
        "a PRIMARY KEY on ADD COLUMN fills the column and builds its index at once: add the column, fill it, "
        "then ADD CONSTRAINT … PRIMARY KEY",
    ),
)


def _can_be_not_valid(constraint: ast.Constraint, context: RuleContext) -> bool:
    if constraint.contype in CAN_BE_NOT_VALID:
        return True
    return constraint.contype is ConstrType.CONSTR_NOTNULL and context.pg_version >= NOT_NULL_CONSTRAINTS


def _proven_not_null(relation: ast.RangeVar, columns: Sequence[str], missing_ok: bool, parts: _Parts) -> _Parts:
    """Each column proven NOT NULL without a scan under a strong lock: a CHECK (col IS NOT NULL) added NOT VALID,
    validated in a later transaction, then SET NOT NULL (which trusts it since PostgreSQL 12), then the CHECK
    dropped again, so the catalog ends as SET NOT NULL alone leaves it."""
    for column in columns:
        name = _identifier(str(relation.relname), column, "not_null_check")
        check = ast.Constraint(
            contype=ConstrType.CONSTR_CHECK,
            conname=name,
            raw_expr=ast.NullTest(
                arg=ast.ColumnRef(fields=(ast.String(column),)), nulltesttype=NullTestType.IS_NOT_NULL
            ),
            skip_validation=True,
            initially_valid=False,
            is_enforced=True,
        )
        add = ast.AlterTableCmd(subtype=AlterTableType.AT_AddConstraint, def_=check, behavior=0)
        parts.early.append(Step(_alter(relation, add, missing_ok=missing_ok)))
        parts.validations.append(_validate(relation, name, missing_ok=missing_ok))
        command = ast.AlterTableCmd(subtype=AlterTableType.AT_SetNotNull, name=column, behavior=0)
        parts.late.append(Step(_alter(relation, command, missing_ok=missing_ok)))
        drop = ast.AlterTableCmd(subtype=AlterTableType.AT_DropConstraint, name=name, behavior=0)
        parts.late.append(Step(_alter(relation, drop, missing_ok=missing_ok)))
    return parts


def _key_names(constraint: ast.Constraint) -> list[str]:
    return [str(key.sval) for key in constraint.keys or () if isinstance(key, ast.String)]


def _index_elements(names: Sequence[str]) -> tuple[ast.IndexElem, ...]:
    return tuple(
        ast.IndexElem(name=name, ordering=SortByDir.SORTBY_DEFAULT, nulls_ordering=SortByNulls.SORTBY_NULLS_DEFAULT)
        for name in names
    )


def _unique(
    constraint: ast.Constraint,
    relation: ast.RangeVar,
    missing_ok: bool,
    context: RuleContext,
    rule: str,
    result: Rewrite,
) -> _Parts | None:
    """ADD UNIQUE / PRIMARY KEY as a unique index built CONCURRENTLY, then ADD CONSTRAINT … USING INDEX.

    The index takes the constraint's name, as the constraint's own index would. A primary key's
    columns must be NOT NULL first: those the migrations do not show NOT NULL are proven so as
    adding-not-nullable-field's rewrite does, or ADD PRIMARY KEY would scan for NULLs under its
    ACCESS EXCLUSIVE lock.
    """
    table = table_key(relation)
    primary = constraint.contype is ConstrType.CONSTR_PRIMARY
    name = constraint.conname or (_identifier(str(relation.relname), "pkey") if primary else None)
    if name is None:
        result.unfixed[rule] = "the constraint has no name, so no index can be built for it by name"
        return None
    if primary and not constraint.conname and len(f"{relation.relname}_pkey".encode()) > _NAMEDATALEN:
        result.unfixed[rule] = "the primary key has no name, and Postgres would shorten the one it makes: name it"
        return None
    if table in _partitioned(context):
        result.unfixed[rule] = "Postgres cannot build an index on a partitioned table CONCURRENTLY"
        return None
    keys = _key_names(constraint)
    index = ast.IndexStmt(
        idxname=name,
        relation=relation,
        accessMethod="btree",
        tableSpace=constraint.indexspace,
        indexParams=_index_elements(keys),
        indexIncludingParams=_index_elements([str(n.sval) for n in constraint.including or ()]) or None,
        options=constraint.options,
        unique=True,
        nulls_not_distinct=constraint.nulls_not_distinct,
        concurrent=True,
    )
    attach = ast.Constraint(
        contype=constraint.contype,
        conname=name,
        indexname=name,
        deferrable=constraint.deferrable,
        initdeferred=constraint.initdeferred,
        is_enforced=True,
    )
    parts = _Parts(outside=_concurrent_build(index))
    if primary:
        nullable = [key for key in keys if key not in _not_null_columns(context, table)]
        _proven_not_null(relation, nullable, missing_ok, parts)
    add = ast.AlterTableCmd(subtype=AlterTableType.AT_AddConstraint, def_=attach, behavior=0)
    parts.late.append(Step(_alter(relation, add, missing_ok=missing_ok)))
    result.fixed.add(rule)
    return parts


def is_outside_already(statement: Statement) -> bool:
    """A statement the file already runs outside a transaction (CONCURRENTLY, as written)."""
    return is_concurrent_index_operation(statement.node)


# what else an added column may say for the fix to move its DEFAULT into a backfill (its type and collation aside)
_MOVABLE = frozenset({ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_NULL})
_FILLED_BY_POSTGRES = frozenset({ConstrType.CONSTR_GENERATED, ConstrType.CONSTR_IDENTITY})


def _backfill_refusal(
    command: ast.AlterTableCmd, column: ast.ColumnDef, missing_ok: bool, context: RuleContext, table: TableKey
) -> str | None:
    """Why this volatile DEFAULT cannot move into a backfill, or None."""
    kinds = {c.contype for c in column_constraints(column)}
    if kinds - _MOVABLE:
        return (
            "the column has a constraint besides DEFAULT and NOT NULL, which Postgres checks as it adds the column: "
            "add the column with those two only, and the constraint with ADD CONSTRAINT in a later statement"
        )
    if missing_ok or command.missing_ok:
        return "with IF EXISTS or IF NOT EXISTS, the backfill might fill a column this statement did not add"
    known = primary_key_known(context.applied_before, table)
    if known is not True:
        shown = table[1] if table[0] == "public" else ".".join(table)
        how = "leave it without one" if known is False else "do not show whether it has one"
        return (
            f"the backfill runs in batches by primary key, and the migrations before this one {how} for {shown}: "
            "give the table a primary key in an earlier migration"
        )
    if ConstrType.CONSTR_NOTNULL in kinds and context.pg_version < CHECK_PROVES_NOT_NULL:
        return (
            "before PostgreSQL 12 the NOT NULL that follows the backfill scans the table under ACCESS EXCLUSIVE "
            "whatever proves it"
        )
    return None


def _without_default(
    command: ast.AlterTableCmd,
    column: ast.ColumnDef,
    relation: ast.RangeVar,
    missing_ok: bool,
    context: RuleContext,
    result: Rewrite,
) -> _Parts | None:
    """ADD COLUMN … DEFAULT <volatile> [NOT NULL] as ADD COLUMN (neither) and SET DEFAULT, both catalog updates; the
    rows already there are left NULL for the backfill, and the NOT NULL waits for it."""
    kinds = {c.contype for c in column_constraints(column)}
    default = volatile_default(column, context)
    if default is None:
        if kinds & _FILLED_BY_POSTGRES or is_serial(column):
            result.unfixed[FIELD_DEFAULT] = (
                "Postgres fills a serial, identity or stored generated column as it adds it, which no backfill can "
                "do for it; lint --fix moves only a volatile DEFAULT into a backfill"
            )
        elif context.pg_version < FAST_DEFAULTS:
            result.unfixed[FIELD_DEFAULT] = (
                "before PostgreSQL 11 every DEFAULT is written into every row; lint --fix moves only a volatile "
                "DEFAULT into a backfill"
            )
        return None
    refusal = _backfill_refusal(command, column, missing_ok, context, table_key(relation))
    if refusal is not None or not column.colname:
        result.unfixed[FIELD_DEFAULT] = refusal or "the column has no name"
        return None
    bare = copy.deepcopy(command)
    added = copy.deepcopy(column)
    added.constraints = None
    added.is_not_null = False
    bare.def_ = added
    set_default = ast.AlterTableCmd(
        subtype=AlterTableType.AT_ColumnDefault, name=column.colname, def_=copy.deepcopy(default), behavior=0
    )
    result.fixed.add(FIELD_DEFAULT)
    result.backfills.append(
        Backfill(relation, column.colname, copy.deepcopy(default), ConstrType.CONSTR_NOTNULL in kinds)
    )
    return _Parts(early=[Step(_alter(relation, bare)), Step(_alter(relation, set_default))])


def backfill_sql(backfill: Backfill) -> str:
    """The backfill: the DEFAULT written into the rows that have no value yet, a WHERE that batches can resume by."""
    column = ast.ColumnRef(fields=(ast.String(backfill.column),))
    update = ast.UpdateStmt(
        relation=backfill.relation,
        targetList=(ast.ResTarget(name=backfill.column, val=backfill.default),),
        whereClause=ast.NullTest(arg=column, nulltesttype=NullTestType.IS_NULL),
    )
    return printed(update)


def not_null_steps(backfills: Sequence[Backfill]) -> list[Step]:
    """The NOT NULLs the backfills waited for, each proven as adding-not-nullable-field's rewrite proves one."""
    parts = _Parts()
    for backfill in backfills:
        _proven_not_null(backfill.relation, [backfill.column], False, parts)
    return parts.steps()


def drop_not_null(backfill: Backfill) -> str:
    """What undoes one of those NOT NULLs (a down file's statement)."""
    command = ast.AlterTableCmd(subtype=AlterTableType.AT_DropNotNull, name=backfill.column, behavior=0)
    return _alter(backfill.relation, command).rstrip()  # pglast prints a space for the RESTRICT it leaves out
