"""Draft a down migration from two drizzle-kit v7 snapshots: the one before a migration and the one after.

Pure: two snapshot dicts in, SQL text out. The draft undoes the migration in
dependency order. First what the migration created goes, most dependent first
(foreign keys, indexes and constraints on surviving tables, then the created
tables, then the created columns). Then renames recorded in the snapshot's
``_meta`` are reversed. Then what it dropped or altered comes back from the
earlier snapshot, dependencies first (schemas, enums, column types, tables,
columns, constraints, indexes, foreign keys).

What cannot be undone gets a ``-- REVIEW:`` comment right above the statement
concerned: rows of a created table or column, the data of a dropped one, a value
added to an enum (PostgreSQL cannot remove one, so the type is recreated), a
narrowed type. The file starts with the DRAFT marker line; ``is_draft`` finds it,
and checks fail while it remains.

A draft is *exact* when its only notes are the data that goes with what the
migration created (the rows of a created table, the values of a created column):
every statement undoes one change of the snapshots and nothing is left to judge.
``ready=True`` renders such a draft without the marker (``rollback --draft``
does, after checking that the migration's SQL holds nothing the snapshots do not
show); any other draft keeps it.

Identifiers are quoted with ``psycopg.sql.Identifier``; expressions, types and
defaults are the snapshot's own SQL text, as drizzle-kit writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drizzle_ops.down_draft.ddl import (
    MAX_IDENTIFIER,
    column_sql,
    create_table_sql,
    fk_sql,
    index_sql,
    label,
    lit,
    pk_body,
    pk_name,
    plain_type,
    q,
    sequence_sql,
    tref,
    type_sql,
    unique_body,
)
from drizzle_ops.down_draft.snapshot import (
    column_changed,
    enum_key_of,
    fk_same,
    in_old_names,
    index_same,
    read_renames,
    type_key,
    unique_same,
)
from drizzle_ops.snapshot_reader import (
    SNAPSHOT_VERSIONS,
    Key,
    Snapshot,
    Table,
    default_of,
    default_sql,
    fk_target,
    read_snapshot,
)

DRAFT_MARKER = "-- drizzle-ops: DRAFT"
BREAKPOINT = "--> statement-breakpoint"


def is_draft(text: str) -> bool:
    """True while the draft's marker line is still in the file."""
    return any(line.lstrip().startswith(DRAFT_MARKER) for line in text.splitlines())


@dataclass(frozen=True)
class Draft:
    text: str
    statements: int
    reviews: list[str]
    exact: bool = False  # every note is data lost with what the migration created; nothing else to judge
    identical: bool = False  # the two snapshots show no difference at all

    @property
    def empty(self) -> bool:
        return self.statements == 0

    @property
    def marked(self) -> bool:
        """The file keeps the DRAFT line: a person reviews it before rollback runs it."""
        return is_draft(self.text)


@dataclass
class _Writer:
    chunks: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)  # the reviews that only say what data goes with a creation
    _pending: list[str] = field(default_factory=list)

    def review(self, note: str) -> None:
        """A REVIEW note, written right above the next statement."""
        self.reviews.append(note)
        self._pending.append(note)

    def loss(self, note: str) -> None:
        """A REVIEW note on the data that goes with what the migration created: inherent in undoing it."""
        self.losses.append(note)
        self.review(note)

    def take_pending(self) -> list[str]:
        pending, self._pending = self._pending, []
        return pending

    def add(self, statement: str) -> None:
        notes = "".join(f"-- REVIEW: {n}\n" for n in self._pending)
        self._pending = []
        self.chunks.append(notes + statement)


def _drop_order(created: Mapping[Key, Table]) -> list[list[Key]]:
    """Created tables, each dropped before the tables it references; a reference cycle is dropped in one statement."""
    refs = {key: {fk_target(fk) for fk in t.fks.values()} & set(created) - {key} for key, t in created.items()}
    order: list[list[Key]] = []
    left = dict(refs)
    while left:
        referenced = {r for rs in left.values() for r in rs}
        free = [k for k in left if k not in referenced]
        if not free:
            order.append(sorted(left))
            break
        for key in free:
            order.append([key])
            del left[key]
    return order


GENERATE = "`inv generate`"
ROLLBACK_DRAFT = "`inv rollback --draft`"


def draft_down(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    tag: str,
    previous_tag: str | None = None,
    author: str = GENERATE,
    notes: Sequence[str] = (),
    ready: bool = False,
) -> Draft:
    """The down migration that takes a database from ``after``'s schema back to ``before``'s.

    ``before`` is the previous migration's snapshot ({} for the first migration).
    ``notes`` are REVIEW notes of the caller's for the header (what the migration's
    SQL does that the snapshots do not show). ``ready``: leave the DRAFT line out
    of an exact draft with no such notes.
    """
    unreadable = [s for s in (before, after) if s and str(s.get("version", "7")) not in SNAPSHOT_VERSIONS]
    if unreadable:
        version = unreadable[0].get("version")
        note = (
            f"the snapshots are drizzle-kit snapshot version {version} (the v1 layout?), which this draft cannot "
            "read (it reads versions 5-7); write the statements that undo the migration by hand"
        )
        return _render(_Writer(), [note, *notes], tag=tag, previous_tag=previous_tag, author=author)
    prev = read_snapshot(before)
    renames = read_renames(after)
    new = in_old_names(read_snapshot(after), renames)
    new_name = {old: current for current, old in renames.tables.items()}  # a surviving table's name right now
    w = _Writer()
    all_enums = set(prev.enums) | set(new.enums)

    def now(key: Key) -> Key:
        return new_name.get(key, key)

    created = {k: t for k, t in new.tables.items() if k not in prev.tables}
    dropped = {k: t for k, t in prev.tables.items() if k not in new.tables}
    both = [k for k in new.tables if k in prev.tables]

    # --- undo what the migration created, most dependent first ---------------------------------------
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, fk in cur.fks.items():
            if name not in old.fks or not fk_same(old.fks[name], fk):
                w.add(f"ALTER TABLE {tref(now(key))} DROP CONSTRAINT {q(name)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, index in cur.indexes.items():
            if name not in old.indexes or not index_same(old.indexes[name], index):
                w.add(f"DROP INDEX {q(now(key)[0], name)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, unique in cur.uniques.items():
            if name not in old.uniques or not unique_same(old.uniques[name], unique):
                w.add(f"ALTER TABLE {tref(now(key))} DROP CONSTRAINT {q(name)};")
        for name, check in cur.checks.items():
            if name not in old.checks or old.checks[name].get("value") != check.get("value"):
                w.add(f"ALTER TABLE {tref(now(key))} DROP CONSTRAINT {q(name)};")
        if cur.pk is not None and cur.pk != old.pk:
            if cur.pk[0] is None:
                w.review(
                    f"PostgreSQL named this primary key after the table when it was created; "
                    f"if {label(now(key))} was renamed since, use the constraint's real name"
                )
            w.add(f"ALTER TABLE {tref(now(key))} DROP CONSTRAINT {q(pk_name(now(key), cur.pk))};")
    for group in _drop_order(created):
        for key in group:
            w.loss(f"every row written to {label(key)} since {tag} is lost: the table is dropped")
        w.add(f"DROP TABLE {', '.join(tref(k) for k in group)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name in cur.columns:
            if name not in old.columns:
                w.loss(f"the values written to {label(key)}.{name} since {tag} are lost: the column is dropped")
                w.add(f"ALTER TABLE {tref(now(key))} DROP COLUMN {q(name)};")

    # --- reverse the renames -----------------------------------------------------------------------------------
    for current, columns in renames.columns.items():
        for new_column, old_column in columns.items():
            w.add(f"ALTER TABLE {tref(current)} RENAME COLUMN {q(new_column)} TO {q(old_column)};")
    for current, old_key in renames.tables.items():
        if current[0] != old_key[0]:
            w.add(f"ALTER TABLE {tref(current)} SET SCHEMA {q(old_key[0])};")
        if current[1] != old_key[1]:
            w.add(f"ALTER TABLE {tref((old_key[0], current[1]))} RENAME TO {q(old_key[1])};")
    for new_schema, old_schema in renames.schemas.items():
        w.review(
            f"schema {old_schema} was renamed to {new_schema}; the tables in it are treated as dropped and created"
        )
        w.add(f"ALTER SCHEMA {q(new_schema)} RENAME TO {q(old_schema)};")

    # --- bring back what the migration dropped or altered, dependencies first ---------------------------
    for schema in sorted(prev.schemas - new.schemas):
        w.add(f"CREATE SCHEMA {q(schema)};")
    for key, values in prev.enums.items():
        if key not in new.enums:
            w.add(f"CREATE TYPE {q(*key)} AS ENUM({', '.join(lit(v) for v in values)});")
    for key, seq in prev.sequences.items():
        if key not in new.sequences:
            w.review(f"sequence {label(key)} comes back at its start value; set it with setval() if values matter")
            w.add(sequence_sql(key, seq))
    defaults_done: set[tuple[Key, str]] = set()
    for key, values in prev.enums.items():
        if key in new.enums and new.enums[key] != values:
            defaults_done |= _recreate_enum(w, key, values, new.enums[key], prev, new, both, all_enums, tag)
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, before_col in old.columns.items():
            after_col = cur.columns.get(name)
            if after_col is not None and column_changed(before_col, after_col):
                _revert_column(w, key, before_col, after_col, all_enums, default_done=(key, name) in defaults_done)
    for key in new.enums:
        if key not in prev.enums:
            w.add(f"DROP TYPE {q(*key)};")
    for key in new.sequences:
        if key not in prev.sequences:
            w.add(f"DROP SEQUENCE {q(*key)};")
    for schema in sorted(new.schemas - prev.schemas):
        w.review(f"DROP SCHEMA fails if anything not made by {tag} lives in {schema}")
        w.add(f"DROP SCHEMA {q(schema)};")
    for key, table in dropped.items():
        w.review(f"{tag} dropped {label(key)}; it comes back empty: restore its rows from a backup if they matter")
        w.add(create_table_sql(table, all_enums))
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, col in old.columns.items():
            if name not in cur.columns:
                _add_column(w, key, col, all_enums, tag)
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        if old.pk is not None and old.pk != cur.pk:
            w.add(f"ALTER TABLE {tref(key)} ADD {pk_body(old.pk)};")
        readded = set(old.columns) - set(cur.columns)  # NULL in every row: no duplicates among them
        for name, unique in old.uniques.items():
            if name not in cur.uniques or not unique_same(unique, cur.uniques[name]):
                if not set(unique.get("columns", [])) <= readded:
                    w.review(f"adding {name} fails if rows written since {tag} hold duplicates")
                w.add(f"ALTER TABLE {tref(key)} ADD CONSTRAINT {q(name)} {unique_body(unique)};")
        for name, check in old.checks.items():
            if name not in cur.checks or cur.checks[name].get("value") != check.get("value"):
                w.review(f"adding {name} fails if rows written since {tag} break it")
                w.add(f"ALTER TABLE {tref(key)} ADD CONSTRAINT {q(name)} CHECK ({check.get('value')});")
    for key, old in prev.tables.items():
        cur_indexes = new.tables[key].indexes if key in new.tables else {}
        for name, index in old.indexes.items():
            if name not in cur_indexes or not index_same(index, cur_indexes[name]):
                w.add(index_sql(key, index))
    for key, old in prev.tables.items():
        cur_fks = new.tables[key].fks if key in new.tables else {}
        for name, fk in old.fks.items():
            if name not in cur_fks or not fk_same(fk, cur_fks[name]):
                w.add(fk_sql(key, fk))

    return _render(
        w, [*_unsupported(prev, new, both), *notes], tag=tag, previous_tag=previous_tag, author=author, ready=ready
    )


def nothing_to_undo(*, tag: str, previous_tag: str | None, author: str = ROLLBACK_DRAFT) -> Draft:
    """The down file of a migration that runs no statement and changes no snapshot: empty, and ready."""
    since = f"the snapshot of {previous_tag}" if previous_tag else "an empty schema"
    text = (
        f"-- drizzle-ops: down migration for {tag}, written by {author}.\n"
        f"-- {tag} runs no statement and its snapshot equals {since}: there is nothing to undo.\n"
    )
    return Draft(text=text, statements=0, reviews=[], exact=True)


def stub_down(reasons: Sequence[str], *, tag: str, author: str = ROLLBACK_DRAFT) -> Draft:
    """A down file with no statements, only the DRAFT line and why nothing could be drafted: never a guess."""
    header = [
        f"{DRAFT_MARKER} down migration for {tag}, written by {author}: nothing could be drafted.",
        "-- Write the statements that undo it below, then delete the line above:",
        "-- `inv verify --rollback-drafts` fails while it is there, and rollback refuses the file.",
        *(f"-- REVIEW: {r}" for r in reasons),
    ]
    return Draft(text="\n".join(header) + "\n", statements=0, reviews=list(reasons))


def _recreate_enum(
    w: _Writer,
    key: Key,
    values: tuple[str, ...],
    current: tuple[str, ...],
    prev: Snapshot,
    new: Snapshot,
    both: list[Key],
    all_enums: set[Key],
    tag: str,
) -> set[tuple[Key, str]]:
    """PostgreSQL cannot remove or reorder enum values: rename the type aside, create it again, convert its columns."""
    added = [v for v in current if v not in values]
    aside = f"{key[1]}_before_down"[:MAX_IDENTIFIER]
    if added:
        shown = ", ".join(lit(v) for v in added)
        w.review(
            f"PostgreSQL cannot remove a value from an enum, so {label(key)} is created again without {shown} "
            f"and its columns are converted: a row holding {shown} makes the conversion fail; "
            "update such rows to a remaining value first (that change cannot be undone)"
        )
    else:
        w.review(f"{label(key)} is created again with its earlier values in their earlier order")
    w.add(f"ALTER TYPE {q(*key)} RENAME TO {q(aside)};")
    w.add(f"CREATE TYPE {q(*key)} AS ENUM({', '.join(lit(v) for v in values)});")
    done: set[tuple[Key, str]] = set()
    for table_key in both:
        old_table, cur_table = prev.tables[table_key], new.tables[table_key]
        for name, column in cur_table.columns.items():
            if name not in old_table.columns:
                continue  # a created column: already dropped
            found = enum_key_of(column, [key])
            if found is None:
                continue
            table, col = tref(table_key), q(name)
            target = q(*key) + ("[]" if found[1] else "")
            if column.get("default") is not None:
                w.add(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT;")
            w.add(
                f"ALTER TABLE {table} ALTER COLUMN {col} SET DATA TYPE {target} "
                f"USING {col}::text{'[]' if found[1] else ''}::{target};"
            )
            before_col = old_table.columns[name]
            default = before_col.get("default") if enum_key_of(before_col, [key]) else column.get("default")
            if default is not None:
                w.add(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {default_sql(default)};")
            done.add((table_key, name))
    w.review(f"dropping the old type fails if anything else still uses it (a function, a view, a cast in {tag})")
    w.add(f"DROP TYPE {q(key[0], aside)};")
    return done


def _revert_column(
    w: _Writer,
    table: Key,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    enums: set[Key],
    *,
    default_done: bool,
) -> None:
    name = str(before["name"])
    target, col = tref(table), q(name)
    shown = f"{label(table)}.{name}"
    if before.get("identity") != after.get("identity") or before.get("generated") != after.get("generated"):
        w.review(
            f"{shown} changed its identity or generation expression; draft nothing for that part, write it by hand"
        )
    type_changed = type_key(before) != type_key(after)
    default_changed = default_of(before) != default_of(after) and not default_done
    if type_changed and after.get("default") is not None and not default_done:
        w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP DEFAULT;")
        default_changed = before.get("default") is not None
    if type_changed:
        old_type = plain_type(type_sql(before, enums))
        w.review(
            f"{shown} goes back from {after.get('type')} to {before.get('type')}: values that do not fit "
            "make this fail, and a narrower type loses precision"
        )
        using = (
            f"{col}::text::{old_type}"
            if enum_key_of(before, enums) or enum_key_of(after, enums)
            else f"{col}::{old_type}"
        )
        w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET DATA TYPE {old_type} USING {using};")
    if default_changed:
        if before.get("default") is None:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP DEFAULT;")
        else:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET DEFAULT {default_sql(before['default'])};")
    if bool(before.get("notNull")) != bool(after.get("notNull")):
        if before.get("notNull"):
            w.review(f"SET NOT NULL fails if NULLs were written to {shown} since; fill them in first")
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET NOT NULL;")
        else:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP NOT NULL;")


def _add_column(w: _Writer, table: Key, column: Mapping[str, Any], enums: set[Key], tag: str) -> None:
    name = str(column["name"])
    shown = f"{label(table)}.{name}"
    if column.get("generated"):
        holding = "its generated value"
    elif column.get("identity") or str(column.get("type", "")).lower() in ("serial", "bigserial", "smallserial"):
        holding = "new sequence numbers"
    elif column.get("default") is not None:
        holding = f"its default ({default_sql(column['default'])})"
    else:
        holding = "NULL"
    w.review(
        f"{tag} dropped {shown} and its data with it; the column comes back holding {holding} in every row: "
        "restore the values from a backup if they matter"
    )
    table_sql = tref(table)
    if column.get("notNull") and holding == "NULL":
        w.add(f"ALTER TABLE {table_sql} ADD COLUMN {column_sql(column, enums, primary_key=False, not_null=False)};")
        w.review(f"{shown} was NOT NULL without a default: fill it in here, or SET NOT NULL fails on a non-empty table")
        w.add(f"ALTER TABLE {table_sql} ALTER COLUMN {q(name)} SET NOT NULL;")
    else:
        not_null = bool(column.get("notNull"))
        w.add(f"ALTER TABLE {table_sql} ADD COLUMN {column_sql(column, enums, primary_key=False, not_null=not_null)};")


def _unsupported(prev: Snapshot, new: Snapshot, both: list[Key]) -> list[str]:
    """What the draft leaves to a person: parts of the snapshot it does not turn into SQL."""
    notes = []
    for part in ("views", "roles", "policies", "privileges"):
        if prev.extras.get(part) != new.extras.get(part):
            notes.append(f"the snapshots differ in {part}, which this draft does not undo; write that part by hand")
    changed = [label(k) for k in both if prev.tables[k].extras != new.tables[k].extras]
    if changed:
        notes.append(
            f"row-level security or policies changed on {', '.join(changed)}; this draft does not undo that, "
            "write it by hand"
        )
    for key, seq in new.sequences.items():
        if key in prev.sequences and prev.sequences[key] != seq:
            notes.append(f"sequence {label(key)} changed; this draft does not undo that, write ALTER SEQUENCE by hand")
    return notes


def _render(
    w: _Writer,
    notes: list[str],
    *,
    tag: str,
    previous_tag: str | None,
    author: str = GENERATE,
    ready: bool = False,
) -> Draft:
    since = (
        f"the snapshots of {previous_tag} and {tag}" if previous_tag else f"an empty schema and the snapshot of {tag}"
    )
    identical = not w.chunks and not notes and not w.reviews
    if identical:
        notes = [
            "the snapshots are identical (a custom migration?): drizzle-kit knows nothing of its SQL, so nothing "
            "could be drafted; write the statements that undo it by hand",
            *notes,
        ]
    notes += w.take_pending()  # notes no statement followed
    exact = bool(w.chunks) and not notes and all(r in w.losses for r in w.reviews)
    if ready and exact:
        header = [
            f"-- drizzle-ops: down migration for {tag}, written by {author} from the difference between {since}.",
            "-- Each statement undoes a change the snapshots show, and the migration's SQL does nothing else:",
            "-- nothing is left to judge, so this file has no DRAFT line and rollback runs it as it is.",
            "-- The REVIEW notes say what data goes with it; `inv rollback --verify` checks the schema it leaves.",
        ]
    else:
        header = [
            f"{DRAFT_MARKER} down migration for {tag}, written by {author} from the difference between {since}.",
            "-- Review every statement and each REVIEW note, then delete the line above:",
            "-- `inv verify --rollback-drafts` fails while it is there.",
        ]
    header += [f"-- REVIEW: {n}" for n in notes]
    reviews = [*notes, *(r for r in w.reviews if r not in notes)]
    body = f"{BREAKPOINT}\n".join(f"{chunk}" for chunk in w.chunks)
    text = "\n".join(header) + "\n" + body + ("\n" if body else "")
    return Draft(text=text, statements=len(w.chunks), reviews=reviews, exact=exact, identical=identical)
