"""Conflicting branches of a drizzle-kit 1.0 history, found and worded as drizzle-kit's `check` finds them.

drizzle-kit 1.0 (from 1.0.0-beta.16) lets snapshots fork: two branches generated
from one parent are both kept, and the next `generate` names every open leaf in
`prevIds` (a merge). Its `check`, `generate` and `migrate` first look for
non-commutative branches: for each snapshot with several children, each pair of
children whose leaves no merge joined yet, it diffs the parent's schema against
each leaf's, turns each diff into statements, and reports a conflict when one
branch's statement touches what the other's may not (both alter one column, one
drops a table the other adds a column to...). A team that passes
`--ignore-conflicts` keeps such branches open, and its database gets both.

The statements here are derived from rows (snapshot_v1.py), with drizzle-kit's
rules for which statement types conflict on which targets (its postgres
commutativity rules, read in drizzle-kit 1.0.0-rc.4's source). Like its check,
the diff knows no renames: a renamed entity is a drop and a create.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drizzle_ops.engine.workspace import FOLDERS, ZERO_UUID, Workspace
from drizzle_ops.errors import UserError
from drizzle_ops.paths import display_path
from drizzle_ops.verify.snapshot_v1 import Key, Row, SchemaRows, same_row
from drizzle_ops.verify.v1_history import History

Target = tuple[str, str, str]  # (schema, object, column): drizzle-kit's footprint target

_TABLE = ("create_table", "drop_table", "rename_table", "move_table")
_COLUMN = ("add_column", "drop_column", "alter_column", "rename_column", "recreate_column")
_INDEX = ("create_index", "drop_index", "rename_index")
_PK = ("add_pk", "drop_pk", "alter_pk")
_FK = ("create_fk", "drop_fk", "recreate_fk")
_UNIQUE = ("add_unique", "drop_unique", "alter_unique")
_CHECK = ("add_check", "drop_check", "alter_check")
_ENUM = ("create_enum", "drop_enum", "rename_enum", "alter_enum", "recreate_enum", "move_enum")
_SEQUENCE = ("create_sequence", "drop_sequence", "rename_sequence", "alter_sequence", "move_sequence")
_VIEW = ("create_view", "drop_view", "rename_view", "alter_view", "move_view")
_POLICY = ("create_policy", "drop_policy", "rename_policy", "alter_policy", "recreate_policy")
_ROLE = ("create_role", "drop_role", "rename_role", "alter_role")
_PRIVILEGE = ("grant_privilege", "revoke_privilege", "regrant_privilege")
# what a schema statement conflicts with: anything inside the schema
_SCHEMA_WIDE = (
    "create_schema",
    "drop_schema",
    "rename_schema",
    *_TABLE,
    *_COLUMN,
    *_INDEX,
    "recreate_index",
    *_PK,
    *_FK,
    *_UNIQUE,
    *_CHECK,
    "rename_constraint",
    *_ENUM,
    "alter_type_drop_value",
    *_SEQUENCE,
    *_VIEW,
    *_POLICY,
    "alter_rls",
    *_PRIVILEGE,
)
# statement type -> the statement types it conflicts with on its own target (drizzle-kit's table)
CONFLICTS: dict[str, tuple[str, ...]] = {
    "create_table": _TABLE,
    "drop_table": (*_TABLE, *_COLUMN, "alter_rls", "create_index", "recreate_index"),
    "add_column": _COLUMN,
    "drop_column": _COLUMN,
    "alter_column": _COLUMN,
    "create_index": _INDEX,
    "drop_index": _INDEX,
    "recreate_index": _INDEX,
    **dict.fromkeys(_PK, _PK),
    **dict.fromkeys(_FK, _FK),
    **dict.fromkeys(_UNIQUE, _UNIQUE),
    **dict.fromkeys(_CHECK, _CHECK),
    "create_enum": _ENUM,
    "drop_enum": (*_ENUM, "alter_type_drop_value"),
    "alter_enum": (*_ENUM, "alter_type_drop_value"),
    "recreate_enum": _ENUM,
    **dict.fromkeys(_SEQUENCE, _SEQUENCE),
    **dict.fromkeys(_VIEW, _VIEW),
    "create_schema": _SCHEMA_WIDE,
    "drop_schema": _SCHEMA_WIDE,
    **dict.fromkeys(_POLICY, _POLICY),
    "alter_rls": ("alter_rls", "create_policy", "drop_policy", "alter_policy", "recreate_policy"),
    "create_role": _ROLE,
    "drop_role": (*_ROLE, *_PRIVILEGE),
    "alter_role": _ROLE,
    **dict.fromkeys(_PRIVILEGE, _PRIVILEGE),
}
# statements drizzle-kit describes as "<action>: <name> in <schema> schema"
_SCHEMA_LEVEL = frozenset({*_TABLE, *_VIEW, *_ENUM, *_SEQUENCE, *_ROLE, "alter_type_drop_value"})


@dataclass(frozen=True)
class Statement:
    action: str
    primary: Target
    ancestors: tuple[Target, ...] = ()
    index: tuple[str, str] | None = None  # (index, table): index statements are described by both

    def footprints(self) -> set[str]:
        """What this statement occupies: its target, its table, and (inside a schema) the schema."""
        targets = [self.primary, *self.ancestors]
        schema, name, column = self.primary
        if schema and (name or column):
            targets.append((schema, "", ""))
        return {_print(self.action, t) for t in targets}

    def conflicts(self) -> set[str]:
        """What another branch's statement may not occupy."""
        return {_print(action, self.primary) for action in CONFLICTS.get(self.action, ())}

    def describe(self) -> str:
        """As drizzle-kit's check words it, e.g. ``alter_column: name on accounts table``."""
        schema, name, column = self.primary
        if self.index is not None:
            return f"{self.action}: {self.index[0]} on {self.index[1]} table"
        if self.action in ("create_schema", "drop_schema"):
            return f"{self.action}: {schema} schema"
        if self.action in _SCHEMA_LEVEL:
            return f"{self.action}: {name} in {schema or 'schema'} schema"
        if column:
            return f"{self.action}: {column} on {name} table"
        return f"{self.action} on {name} table"


def _print(action: str, target: Target) -> str:
    return ";".join((action, *target))


def _verb(created: bool, dropped: bool, verbs: tuple[str, str, str]) -> str:
    return verbs[0] if created else verbs[1] if dropped else verbs[2]


def statements(before: Mapping[Key, Row], after: Mapping[Key, Row]) -> list[Statement]:
    """The statements drizzle-kit's diff would make from ``before`` to ``after`` (no renames), by target."""
    tables_made = {k[1] for k in after if k[0] == "tables" and k not in before}
    tables_gone = {k[1] for k in before if k[0] == "tables" and k not in after}
    found: list[Statement] = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        row = new or old or {}
        if old is not None and new is not None and same_row(old, new):
            continue
        made, gone = old is None, new is None
        entity, identity = key
        owner = (str(row.get("schema") or ""), str(row.get("table") or ""))
        table: Target = (*owner, "")
        if entity == "tables":
            action = _verb(made, gone, ("create_table", "drop_table", "alter_rls"))
            found.append(Statement(action, (str(identity[0]), str(identity[1]), "")))
        elif entity == "columns":
            if not (made and owner in tables_made) and not (gone and owner in tables_gone):
                action = _verb(made, gone, ("add_column", "drop_column", "alter_column"))
                found.append(Statement(action, (*owner, str(row.get("name"))), (table,)))
        elif entity == "indexes":
            if not (gone and owner in tables_gone):
                action = _verb(made, gone, ("create_index", "drop_index", "recreate_index"))
                name = str(row.get("name"))
                found.append(Statement(action, (owner[0], name, ""), (table,), (name, owner[1])))
        elif entity == "fks":
            to_gone = (str(row.get("schemaTo") or ""), str(row.get("tableTo") or "")) in tables_gone
            if not (gone and owner in tables_gone and not to_gone):
                found.append(Statement(_verb(made, gone, ("create_fk", "drop_fk", "recreate_fk")), table))
        elif entity in ("pks", "uniques", "checks"):
            if not (made and owner in tables_made) and not (gone and owner in tables_gone):
                verbs = {"pks": _PK, "uniques": _UNIQUE, "checks": _CHECK}[entity]
                found.append(Statement(_verb(made, gone, verbs), table))
        elif entity in ("policies", "privileges"):
            verbs = (*_POLICY[:2], "alter_policy") if entity == "policies" else _PRIVILEGE
            found.append(Statement(_verb(made, gone, verbs), table))
        elif entity == "schemas":  # a schema row is its name: it is made or dropped, never altered
            found.append(Statement("create_schema" if made else "drop_schema", (str(identity[0]), "", "")))
        else:  # enums, sequences, views, roles: a named object (roles have no schema)
            singular = {"enums": "enum", "sequences": "sequence", "views": "view", "roles": "role"}[entity]
            action = _verb(made, gone, (f"create_{singular}", f"drop_{singular}", f"alter_{singular}"))
            if entity == "enums" and not made and not gone and not _only_added(old, new):
                action = "recreate_enum"
            schema = "" if entity == "roles" else str(identity[0])
            found.append(Statement(action, (schema, str(identity[-1]), "")))
    return found


def _only_added(old: Row | None, new: Row | None) -> bool:
    before, after = list((old or {}).get("values") or []), list((new or {}).get("values") or [])
    return all(v in after for v in before)


def _clash(a: Sequence[Statement], b: Sequence[Statement]) -> tuple[Statement, Statement] | None:
    """The first statement of ``a`` that ``b`` may not run beside (or the reverse), as drizzle-kit looks."""
    for mine, theirs in ((a, b), (b, a)):
        for statement in mine:
            marks = statement.footprints()
            for other in theirs:
                if marks & other.conflicts():
                    return (statement, other) if mine is a else (other, statement)
    return None


@dataclass(frozen=True)
class Branch:
    chain: tuple[str, ...]  # the sources of the snapshots from the fork to the leaf
    description: str


@dataclass
class Conflict:
    parent: str | None  # the fork's source; None: the branches start from an empty history
    branches: tuple[Branch, Branch]


@dataclass
class Report:
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def leaves(self) -> int:
        return len({b.chain[-1] for c in self.conflicts for b in c.branches})


def _children(history: History) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for node in history.nodes:
        for parent in node.parents or (ZERO_UUID,):
            children.setdefault(parent, []).append(node.id)
    return children


def _leaves_below(children: Mapping[str, list[str]], start: str) -> list[str]:
    found, seen, stack = [], set(), [start]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        below = children.get(current, [])
        if not below:
            found.append(current)
        stack.extend(below)
    return found


def _path(children: Mapping[str, list[str]], start: str, end: str) -> list[str]:
    """The shortest way down from ``start`` to ``end``."""
    queue, seen = [[start]], set()
    while queue:
        path = queue.pop(0)
        if path[-1] == end:
            return path
        if path[-1] in seen:
            continue
        seen.add(path[-1])
        queue.extend([*path, child] for child in children.get(path[-1], []))
    return [end]


def find_conflicts(history: History) -> Report:
    """Every pair of open branches whose changes do not commute, as drizzle-kit's check pairs them."""
    children = _children(history)
    states: dict[str, SchemaRows] = {}

    def rows_at(node_id: str) -> Mapping[Key, Row]:
        if node_id not in history.by_id:
            return {}  # the origin, or a parent whose snapshot is gone: an empty schema
        if node_id not in states:
            states[node_id] = history.state(node_id)
        return states[node_id].rows

    report = Report()
    for parent, below in children.items():
        if len(below) < 2:
            continue
        groups = {child: _leaves_below(children, child) for child in below}
        for i, first in enumerate(below):
            for second in below[i + 1 :]:
                if set(groups[first]) & set(groups[second]):
                    continue  # a merge joined these two branches
                for a in groups[first]:
                    for b in groups[second]:
                        clash = _clash(statements(rows_at(parent), rows_at(a)), statements(rows_at(parent), rows_at(b)))
                        if clash is None:
                            continue
                        source = history.by_id[parent].source if parent in history.by_id else None
                        report.conflicts.append(
                            Conflict(
                                source,
                                (
                                    Branch(_sources(history, _path(children, first, a)), clash[0].describe()),
                                    Branch(_sources(history, _path(children, second, b)), clash[1].describe()),
                                ),
                            )
                        )
    return report


def _sources(history: History, ids: Sequence[str]) -> tuple[str, ...]:
    return tuple(history.by_id[i].source for i in ids)


def report_lines(report: Report, shown: Callable[[str], str]) -> list[str]:
    """The report as drizzle-kit's check prints it: per fork, each branch's chain and what it does."""
    leaves = report.leaves
    lines = [
        f"Non-commutative migrations detected: found {len(report.conflicts)} conflict"
        f"{'' if len(report.conflicts) == 1 else 's'} across {leaves} migration{'' if leaves == 1 else 's'}"
    ]
    by_parent: dict[str | None, list[Conflict]] = {}
    for conflict in report.conflicts:
        by_parent.setdefault(conflict.parent, []).append(conflict)
    for parent, conflicts in by_parent.items():
        branches: dict[str, tuple[tuple[str, ...], list[str]]] = {}  # by leaf: (chain, descriptions)
        for conflict in conflicts:
            for branch in conflict.branches:
                chain, said = branches.setdefault(branch.chain[-1], (branch.chain, []))
                if branch.description not in said:
                    said.append(branch.description)
        lines += ["", f"  {shown(parent) if parent else ZERO_UUID}"]
        for n, (chain, said) in enumerate(branches.values()):
            last = n == len(branches) - 1
            lines.append(f"  {'└──' if last else '├──'} {shown(chain[0])}")
            lines += [f"  {'    ' if last else '│   '}{shown(step)}" for step in chain[1:]]
            for d, description in enumerate(said):
                lines.append(f"  {'    ' if last else '│   '}{'└─' if d == len(said) - 1 else '├─'} ⚠ {description}")
    return lines


def conflict_warning(workspace: Workspace) -> str | None:
    """The one-line warning for a v1 workspace's non-commutative branches; None when there are none.

    Snapshots that cannot be folded are left to the tasks that fold them (they name the file).
    """
    if workspace.layout != FOLDERS:
        return None
    try:
        described = [m for m in workspace.migrations if m.snapshot_path is not None]
        report = find_conflicts(History([(str(m.snapshot_path), m.snapshot()) for m in described]))
    except UserError:
        return None
    if not report.conflicts:
        return None
    return summary(report, lambda source: display_path(Path(source).parent, workspace.root))


def summary(report: Report, shown: Callable[[str], str]) -> str:
    """The report in one line, for a warning."""
    parts = []
    for conflict in report.conflicts:
        first, second = (
            " → ".join(shown(step) for step in branch.chain) + f" ({branch.description})"
            for branch in conflict.branches
        )
        parts.append(f"from {shown(conflict.parent) if conflict.parent else 'the start'}: {first} and {second}")
    count, leaves = len(report.conflicts), report.leaves
    return (
        f"non-commutative migrations (as drizzle-kit's check finds them): {count} conflict(s) across {leaves} "
        f"migration(s), {'; '.join(parts)}; drizzle-kit's check, generate and migrate refuse them without "
        "--ignore-conflicts, and migrate applies both branches, in folder order (the later folder's change stands)"
    )
