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

Identifiers are quoted with ``psycopg.sql.Identifier``; expressions, types and
defaults are the snapshot's own SQL text, as drizzle-kit writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

DRAFT_MARKER = "-- drizzle-ops: DRAFT"
BREAKPOINT = "--> statement-breakpoint"
PUBLIC = "public"
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1

Key = tuple[str, str]  # (schema, name)
Raw = dict[str, Any]


def is_draft(text: str) -> bool:
    """True while the draft's marker line is still in the file."""
    return any(line.lstrip().startswith(DRAFT_MARKER) for line in text.splitlines())


# -- quoting ------------------------------------------------------------------------------------------


def _q(*names: str) -> str:
    return sql.Identifier(*names).as_string(None)


def _lit(value: str) -> str:
    return sql.Literal(value).as_string(None)


def _cols(names: Iterable[str]) -> str:
    return ",".join(_q(n) for n in names)


def _tref(key: Key) -> str:
    return _q(*key)


def _label(key: Key) -> str:
    return key[1] if key[0] == PUBLIC else f"{key[0]}.{key[1]}"


def _default_sql(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the snapshot, normalised ---------------------------------------------------------------------------


def _schema(raw: Mapping[str, Any]) -> str:
    return str(raw.get("schema") or PUBLIC)


@dataclass
class _Table:
    key: Key
    columns: dict[str, Raw] = field(default_factory=dict)
    pk: tuple[str | None, tuple[str, ...]] | None = None  # (constraint name, None when column-level; columns)
    indexes: dict[str, Raw] = field(default_factory=dict)
    fks: dict[str, Raw] = field(default_factory=dict)
    uniques: dict[str, Raw] = field(default_factory=dict)
    checks: dict[str, Raw] = field(default_factory=dict)
    extras: Raw = field(default_factory=dict)  # policies and RLS: compared, never drafted


@dataclass
class _Snapshot:
    tables: dict[Key, _Table] = field(default_factory=dict)
    enums: dict[Key, tuple[str, ...]] = field(default_factory=dict)
    sequences: dict[Key, Raw] = field(default_factory=dict)
    schemas: set[str] = field(default_factory=set)
    extras: Raw = field(default_factory=dict)  # views, roles, policies: compared, never drafted


def _read_table(raw: Mapping[str, Any]) -> _Table:
    table = _Table((_schema(raw), str(raw["name"])))
    pk_columns: list[str] = []
    for col in (raw.get("columns") or {}).values():
        name = str(col["name"])
        table.columns[name] = dict(col)
        if col.get("primaryKey"):
            pk_columns.append(name)
        if col.get("isUnique"):  # snapshots before v7 kept a column's unique here
            unique = str(col.get("uniqueName") or f"{table.key[1]}_{name}_unique")
            table.uniques[unique] = {
                "name": unique,
                "columns": [name],
                "nullsNotDistinct": bool(col.get("nullsNotDistinct", False)),
            }
    composite = list((raw.get("compositePrimaryKeys") or {}).values())
    if composite:
        table.pk = (str(composite[0].get("name") or "") or None, tuple(composite[0]["columns"]))
    elif pk_columns:
        table.pk = (None, tuple(pk_columns))
    table.indexes = {str(i["name"]): dict(i) for i in (raw.get("indexes") or {}).values()}
    table.fks = {str(f["name"]): dict(f) for f in (raw.get("foreignKeys") or {}).values()}
    table.uniques.update({str(u["name"]): dict(u) for u in (raw.get("uniqueConstraints") or {}).values()})
    table.checks = {str(c["name"]): dict(c) for c in (raw.get("checkConstraints") or {}).values()}
    table.extras = {"policies": raw.get("policies") or {}, "rls": bool(raw.get("isRLSEnabled", False))}
    return table


def _read(snapshot: Mapping[str, Any]) -> _Snapshot:
    model = _Snapshot()
    for raw in (snapshot.get("tables") or {}).values():
        table = _read_table(raw)
        model.tables[table.key] = table
    for raw in (snapshot.get("enums") or {}).values():
        model.enums[(_schema(raw), str(raw["name"]))] = tuple(str(v) for v in raw.get("values", []))
    for raw in (snapshot.get("sequences") or {}).values():
        model.sequences[(_schema(raw), str(raw["name"]))] = dict(raw)
    model.schemas = {str(s) for s in (snapshot.get("schemas") or {}).values()} - {PUBLIC}
    model.extras = {k: snapshot.get(k) or {} for k in ("views", "roles", "policies")}
    return model


# -- renames (drizzle-kit records them in the new snapshot's _meta) ---------------------------------------


def _quoted_parts(text: str) -> list[str]:
    return [p.replace('""', '"') for p in re.findall(r'"((?:[^"]|"")*)"', text)]


@dataclass
class _Renames:
    tables: dict[Key, Key] = field(default_factory=dict)  # new -> old
    columns: dict[Key, dict[str, str]] = field(default_factory=dict)  # new table key -> {new column: old column}
    schemas: dict[str, str] = field(default_factory=dict)  # new -> old


def _renames(snapshot: Mapping[str, Any]) -> _Renames:
    meta = snapshot.get("_meta") or {}
    renames = _Renames()
    for old, new in (meta.get("schemas") or {}).items():
        renames.schemas[str(new)] = str(old)
    for old, new in (meta.get("tables") or {}).items():
        before, after = _quoted_parts(str(old)), _quoted_parts(str(new))
        if before and after:
            old_key = (before[0], before[1]) if len(before) > 1 else (PUBLIC, before[0])
            new_key = (after[0], after[1]) if len(after) > 1 else (PUBLIC, after[0])
            renames.tables[new_key] = old_key
    for old, new in (meta.get("columns") or {}).items():
        before, after = _quoted_parts(str(old)), _quoted_parts(str(new))
        if len(before) >= 2 and len(after) >= 2:
            table = (after[0], after[1]) if len(after) > 2 else (PUBLIC, after[0])
            renames.columns.setdefault(table, {})[after[-1]] = before[-1]
    return renames


def _in_old_names(new: _Snapshot, renames: _Renames) -> _Snapshot:
    """The new snapshot with renamed tables and columns called by their earlier names, to compare like with like."""
    if not renames.tables and not renames.columns:
        return new

    def table_key(key: Key) -> Key:
        return renames.tables.get(key, key)

    def column(key: Key, name: str) -> str:
        return renames.columns.get(key, {}).get(name, name)

    out = _Snapshot(enums=new.enums, sequences=new.sequences, schemas=new.schemas, extras=new.extras)
    for key, table in new.tables.items():
        moved = _Table(table_key(key), extras=table.extras)
        moved.columns = {column(key, n): {**c, "name": column(key, n)} for n, c in table.columns.items()}
        if table.pk:
            moved.pk = (table.pk[0], tuple(column(key, c) for c in table.pk[1]))
        moved.indexes = {
            n: {
                **i,
                "columns": [
                    {**c, "expression": c["expression"] if c.get("isExpression") else column(key, c["expression"])}
                    for c in i.get("columns", [])
                ],
            }
            for n, i in table.indexes.items()
        }
        moved.fks = {}
        for n, fk in table.fks.items():
            target = (str(fk.get("schemaTo") or PUBLIC), str(fk["tableTo"]))
            old_target = table_key(target)
            moved.fks[n] = {
                **fk,
                "tableFrom": moved.key[1],
                "schemaTo": old_target[0],
                "tableTo": old_target[1],
                "columnsFrom": [column(key, c) for c in fk.get("columnsFrom", [])],
                "columnsTo": [column(target, c) for c in fk.get("columnsTo", [])],
            }
        moved.uniques = {
            n: {**u, "columns": [column(key, c) for c in u.get("columns", [])]} for n, u in table.uniques.items()
        }
        moved.checks = dict(table.checks)
        out.tables[moved.key] = moved
    return out


# -- comparing ------------------------------------------------------------------------------------------


def _type_key(column: Mapping[str, Any]) -> tuple[str, str]:
    return (str(column.get("typeSchema") or ""), str(column.get("type", "")))


def _column_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    fields = ("notNull", "identity", "generated")
    return (
        _type_key(before) != _type_key(after)
        or _default_of(before) != _default_of(after)
        or any(before.get(f) != after.get(f) for f in fields)
    )


def _default_of(column: Mapping[str, Any]) -> str | None:
    value = column.get("default")
    return None if value is None else _default_sql(value)


def _index_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("columns", "isUnique", "method", "where", "with")
    norm: dict[str, Any] = {"method": "btree", "with": {}, "where": None}
    return all((a.get(k) or norm.get(k)) == (b.get(k) or norm.get(k)) for k in keys)


def _fk_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def norm(fk: Mapping[str, Any]) -> tuple[Any, ...]:
        return (
            tuple(fk.get("columnsFrom", [])),
            str(fk.get("schemaTo") or PUBLIC),
            fk.get("tableTo"),
            tuple(fk.get("columnsTo", [])),
            str(fk.get("onDelete") or "no action").lower(),
            str(fk.get("onUpdate") or "no action").lower(),
        )

    return norm(a) == norm(b)


def _unique_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return list(a.get("columns", [])) == list(b.get("columns", [])) and bool(a.get("nullsNotDistinct")) == bool(
        b.get("nullsNotDistinct")
    )


# -- SQL for one object ------------------------------------------------------------------------------------


def _enum_named(enums: Iterable[Key], name: str) -> Key | None:
    found = [key for key in enums if key[1] == name]
    return found[0] if len(found) == 1 else None


def _type_sql(column: Mapping[str, Any], enums: Iterable[Key]) -> str:
    type_ = str(column.get("type", ""))
    match = re.match(r"^(.*?)((?:\[\d*\])*)$", type_)
    base, dims = (match.group(1), match.group(2)) if match else (type_, "")
    schema = column.get("typeSchema")
    if not schema:
        found = _enum_named(enums, base)  # an enum named without its schema (older snapshots)
        schema = found[0] if found else None
    return f"{_q(str(schema), base)}{dims}" if schema else type_


def _plain_type(type_sql: str) -> str:
    """serial is a shorthand for CREATE and ADD COLUMN only; ALTER COLUMN TYPE needs the real type."""
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(type_sql.lower(), type_sql)


def _identity_sql(identity: Mapping[str, Any]) -> str:
    kind = "ALWAYS" if identity.get("type") == "always" else "BY DEFAULT"
    options = []
    if identity.get("name"):
        options.append(f"sequence name {_q(str(identity.get('schema') or PUBLIC), str(identity['name']))}")
    for label, key in (("INCREMENT BY", "increment"), ("MINVALUE", "minValue"), ("MAXVALUE", "maxValue")):
        if identity.get(key) is not None:
            options.append(f"{label} {identity[key]}")
    for label, key in (("START WITH", "startWith"), ("CACHE", "cache")):
        if identity.get(key) is not None:
            options.append(f"{label} {identity[key]}")
    if identity.get("cycle"):
        options.append("CYCLE")
    return f"GENERATED {kind} AS IDENTITY" + (f" ({' '.join(options)})" if options else "")


def _column_sql(column: Mapping[str, Any], enums: Iterable[Key], *, primary_key: bool, not_null: bool) -> str:
    parts = [_q(str(column["name"])), _type_sql(column, enums)]
    if primary_key:
        parts.append("PRIMARY KEY")
    generated, identity = column.get("generated"), column.get("identity")
    if isinstance(generated, Mapping):
        parts.append(f"GENERATED ALWAYS AS ({generated.get('as')}) STORED")
    elif isinstance(identity, Mapping):
        parts.append(_identity_sql(identity))
    elif column.get("default") is not None:
        parts.append(f"DEFAULT {_default_sql(column['default'])}")
    if not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _index_sql(table: Key, index: Mapping[str, Any]) -> str:
    keys = []
    for col in index.get("columns", []):
        text = str(col["expression"]) if col.get("isExpression") else _q(str(col["expression"]))
        asc = col.get("asc", True)
        nulls = str(col.get("nulls") or ("last" if asc else "first"))
        if col.get("opclass"):
            text += f" {col['opclass']}"
        else:
            text += "" if asc else " DESC"
            if not (asc and nulls == "last"):
                text += f" NULLS {nulls.upper()}"
        keys.append(text)
    unique = "UNIQUE " if index.get("isUnique") else ""
    method = str(index.get("method") or "btree")
    statement = f"CREATE {unique}INDEX {_q(str(index['name']))} ON {_tref(table)} USING {method} ({','.join(keys)})"
    with_ = index.get("with") or {}
    if with_:
        statement += " WITH (" + ", ".join(f"{k}={_default_sql(v)}" for k, v in with_.items()) + ")"
    if index.get("where"):
        statement += f" WHERE {index['where']}"
    return statement + ";"


def _fk_sql(table: Key, fk: Mapping[str, Any]) -> str:
    target = (str(fk.get("schemaTo") or PUBLIC), str(fk["tableTo"]))
    on_delete, on_update = fk.get("onDelete") or "no action", fk.get("onUpdate") or "no action"
    return (
        f"ALTER TABLE {_tref(table)} ADD CONSTRAINT {_q(str(fk['name']))} "
        f"FOREIGN KEY ({_cols(fk.get('columnsFrom', []))}) "
        f"REFERENCES {_tref(target)}({_cols(fk.get('columnsTo', []))}) ON DELETE {on_delete} ON UPDATE {on_update};"
    )


def _unique_body(unique: Mapping[str, Any]) -> str:
    nulls = " NULLS NOT DISTINCT" if unique.get("nullsNotDistinct") else ""
    return f"UNIQUE{nulls}({_cols(unique.get('columns', []))})"


def _pk_body(pk: tuple[str | None, tuple[str, ...]]) -> str:
    name, columns = pk
    prefix = f"CONSTRAINT {_q(name)} " if name else ""
    return f"{prefix}PRIMARY KEY({_cols(columns)})"


def _pk_name(table: Key, pk: tuple[str | None, tuple[str, ...]]) -> str:
    return pk[0] or f"{table[1]}_pkey"[:MAX_IDENTIFIER]


def _create_table_sql(table: _Table, enums: Iterable[Key]) -> str:
    inline_pk = table.pk is not None and table.pk[0] is None and len(table.pk[1]) == 1
    lines = [
        _column_sql(
            col,
            enums,
            primary_key=inline_pk and table.pk is not None and name == table.pk[1][0],
            not_null=bool(col.get("notNull")),
        )
        for name, col in table.columns.items()
    ]
    if table.pk is not None and not inline_pk:
        lines.append(_pk_body(table.pk))
    lines += [f"CONSTRAINT {_q(n)} {_unique_body(u)}" for n, u in table.uniques.items()]
    lines += [f"CONSTRAINT {_q(n)} CHECK ({c.get('value')})" for n, c in table.checks.items()]
    return f"CREATE TABLE {_tref(table.key)} (\n\t" + ",\n\t".join(lines) + "\n);"


# -- the draft ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    text: str
    statements: int
    reviews: list[str]

    @property
    def empty(self) -> bool:
        return self.statements == 0


@dataclass
class _Writer:
    chunks: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)
    _pending: list[str] = field(default_factory=list)

    def review(self, note: str) -> None:
        """A REVIEW note, written right above the next statement."""
        self.reviews.append(note)
        self._pending.append(note)

    def take_pending(self) -> list[str]:
        pending, self._pending = self._pending, []
        return pending

    def add(self, statement: str) -> None:
        notes = "".join(f"-- REVIEW: {n}\n" for n in self._pending)
        self._pending = []
        self.chunks.append(notes + statement)


def _drop_order(created: Mapping[Key, _Table]) -> list[list[Key]]:
    """Created tables, each dropped before the tables it references; a reference cycle is dropped in one statement."""
    refs = {
        key: {(str(fk.get("schemaTo") or PUBLIC), str(fk["tableTo"])) for fk in t.fks.values()} & set(created) - {key}
        for key, t in created.items()
    }
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


def _enum_key_of(column: Mapping[str, Any], enums: Iterable[Key]) -> tuple[Key, bool] | None:
    """(enum, is_array) when the column's type is one of ``enums``."""
    type_ = str(column.get("type", ""))
    base = re.sub(r"(\[\d*\])+$", "", type_)
    schema = column.get("typeSchema")
    key = (str(schema), base) if schema else _enum_named(enums, base)
    if key is None or key not in set(enums):
        return None
    return key, base != type_


def draft_down(
    before: Mapping[str, Any], after: Mapping[str, Any], *, tag: str, previous_tag: str | None = None
) -> Draft:
    """The down migration that takes a database from ``after``'s schema back to ``before``'s.

    ``before`` is the previous migration's snapshot ({} for the first migration).
    """
    prev = _read(before)
    renames = _renames(after)
    new = _in_old_names(_read(after), renames)
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
            if name not in old.fks or not _fk_same(old.fks[name], fk):
                w.add(f"ALTER TABLE {_tref(now(key))} DROP CONSTRAINT {_q(name)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, index in cur.indexes.items():
            if name not in old.indexes or not _index_same(old.indexes[name], index):
                w.add(f"DROP INDEX {_q(now(key)[0], name)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, unique in cur.uniques.items():
            if name not in old.uniques or not _unique_same(old.uniques[name], unique):
                w.add(f"ALTER TABLE {_tref(now(key))} DROP CONSTRAINT {_q(name)};")
        for name, check in cur.checks.items():
            if name not in old.checks or old.checks[name].get("value") != check.get("value"):
                w.add(f"ALTER TABLE {_tref(now(key))} DROP CONSTRAINT {_q(name)};")
        if cur.pk is not None and cur.pk != old.pk:
            if cur.pk[0] is None:
                w.review(
                    f"PostgreSQL named this primary key after the table when it was created; "
                    f"if {_label(now(key))} was renamed since, use the constraint's real name"
                )
            w.add(f"ALTER TABLE {_tref(now(key))} DROP CONSTRAINT {_q(_pk_name(now(key), cur.pk))};")
    for group in _drop_order(created):
        for key in group:
            w.review(f"every row written to {_label(key)} since {tag} is lost: the table is dropped")
        w.add(f"DROP TABLE {', '.join(_tref(k) for k in group)};")
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name in cur.columns:
            if name not in old.columns:
                w.review(f"the values written to {_label(key)}.{name} since {tag} are lost: the column is dropped")
                w.add(f"ALTER TABLE {_tref(now(key))} DROP COLUMN {_q(name)};")

    # --- reverse the renames -----------------------------------------------------------------------------------
    for current, columns in renames.columns.items():
        for new_column, old_column in columns.items():
            w.add(f"ALTER TABLE {_tref(current)} RENAME COLUMN {_q(new_column)} TO {_q(old_column)};")
    for current, old_key in renames.tables.items():
        if current[0] != old_key[0]:
            w.add(f"ALTER TABLE {_tref(current)} SET SCHEMA {_q(old_key[0])};")
        if current[1] != old_key[1]:
            w.add(f"ALTER TABLE {_tref((old_key[0], current[1]))} RENAME TO {_q(old_key[1])};")
    for new_schema, old_schema in renames.schemas.items():
        w.review(
            f"schema {old_schema} was renamed to {new_schema}; the tables in it are treated as dropped and created"
        )
        w.add(f"ALTER SCHEMA {_q(new_schema)} RENAME TO {_q(old_schema)};")

    # --- bring back what the migration dropped or altered, dependencies first ---------------------------
    for schema in sorted(prev.schemas - new.schemas):
        w.add(f"CREATE SCHEMA {_q(schema)};")
    for key, values in prev.enums.items():
        if key not in new.enums:
            w.add(f"CREATE TYPE {_q(*key)} AS ENUM({', '.join(_lit(v) for v in values)});")
    for key, seq in prev.sequences.items():
        if key not in new.sequences:
            w.review(f"sequence {_label(key)} comes back at its start value; set it with setval() if values matter")
            w.add(_sequence_sql(key, seq))
    defaults_done: set[tuple[Key, str]] = set()
    for key, values in prev.enums.items():
        if key in new.enums and new.enums[key] != values:
            defaults_done |= _recreate_enum(w, key, values, new.enums[key], prev, new, both, all_enums, tag)
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, before_col in old.columns.items():
            after_col = cur.columns.get(name)
            if after_col is not None and _column_changed(before_col, after_col):
                _revert_column(w, key, before_col, after_col, all_enums, default_done=(key, name) in defaults_done)
    for key in new.enums:
        if key not in prev.enums:
            w.add(f"DROP TYPE {_q(*key)};")
    for key in new.sequences:
        if key not in prev.sequences:
            w.add(f"DROP SEQUENCE {_q(*key)};")
    for schema in sorted(new.schemas - prev.schemas):
        w.review(f"DROP SCHEMA fails if anything not made by {tag} lives in {schema}")
        w.add(f"DROP SCHEMA {_q(schema)};")
    for key, table in dropped.items():
        w.review(f"{tag} dropped {_label(key)}; it comes back empty: restore its rows from a backup if they matter")
        w.add(_create_table_sql(table, all_enums))
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        for name, col in old.columns.items():
            if name not in cur.columns:
                _add_column(w, key, col, all_enums, tag)
    for key in both:
        old, cur = prev.tables[key], new.tables[key]
        if old.pk is not None and old.pk != cur.pk:
            w.add(f"ALTER TABLE {_tref(key)} ADD {_pk_body(old.pk)};")
        readded = set(old.columns) - set(cur.columns)  # NULL in every row: no duplicates among them
        for name, unique in old.uniques.items():
            if name not in cur.uniques or not _unique_same(unique, cur.uniques[name]):
                if not set(unique.get("columns", [])) <= readded:
                    w.review(f"adding {name} fails if rows written since {tag} hold duplicates")
                w.add(f"ALTER TABLE {_tref(key)} ADD CONSTRAINT {_q(name)} {_unique_body(unique)};")
        for name, check in old.checks.items():
            if name not in cur.checks or cur.checks[name].get("value") != check.get("value"):
                w.review(f"adding {name} fails if rows written since {tag} break it")
                w.add(f"ALTER TABLE {_tref(key)} ADD CONSTRAINT {_q(name)} CHECK ({check.get('value')});")
    for key, old in prev.tables.items():
        cur_indexes = new.tables[key].indexes if key in new.tables else {}
        for name, index in old.indexes.items():
            if name not in cur_indexes or not _index_same(index, cur_indexes[name]):
                w.add(_index_sql(key, index))
    for key, old in prev.tables.items():
        cur_fks = new.tables[key].fks if key in new.tables else {}
        for name, fk in old.fks.items():
            if name not in cur_fks or not _fk_same(fk, cur_fks[name]):
                w.add(_fk_sql(key, fk))

    return _render(w, _unsupported(prev, new, both), tag=tag, previous_tag=previous_tag)


def _sequence_sql(key: Key, seq: Mapping[str, Any]) -> str:
    options = []
    for label, name in (
        ("INCREMENT BY", "increment"),
        ("MINVALUE", "minValue"),
        ("MAXVALUE", "maxValue"),
        ("START WITH", "startWith"),
        ("CACHE", "cache"),
    ):
        if seq.get(name) is not None:
            options.append(f"{label} {seq[name]}")
    if seq.get("cycle"):
        options.append("CYCLE")
    return f"CREATE SEQUENCE {_q(*key)}" + (" " + " ".join(options) if options else "") + ";"


def _recreate_enum(
    w: _Writer,
    key: Key,
    values: tuple[str, ...],
    current: tuple[str, ...],
    prev: _Snapshot,
    new: _Snapshot,
    both: list[Key],
    all_enums: set[Key],
    tag: str,
) -> set[tuple[Key, str]]:
    """PostgreSQL cannot remove or reorder enum values: rename the type aside, create it again, convert its columns."""
    added = [v for v in current if v not in values]
    aside = f"{key[1]}_before_down"[:MAX_IDENTIFIER]
    if added:
        shown = ", ".join(_lit(v) for v in added)
        w.review(
            f"PostgreSQL cannot remove a value from an enum, so {_label(key)} is created again without {shown} "
            f"and its columns are converted: a row holding {shown} makes the conversion fail; "
            "update such rows to a remaining value first (that change cannot be undone)"
        )
    else:
        w.review(f"{_label(key)} is created again with its earlier values in their earlier order")
    w.add(f"ALTER TYPE {_q(*key)} RENAME TO {_q(aside)};")
    w.add(f"CREATE TYPE {_q(*key)} AS ENUM({', '.join(_lit(v) for v in values)});")
    done: set[tuple[Key, str]] = set()
    for table_key in both:
        old_table, cur_table = prev.tables[table_key], new.tables[table_key]
        for name, column in cur_table.columns.items():
            if name not in old_table.columns:
                continue  # a created column: already dropped
            found = _enum_key_of(column, [key])
            if found is None:
                continue
            table, col = _tref(table_key), _q(name)
            target = _q(*key) + ("[]" if found[1] else "")
            if column.get("default") is not None:
                w.add(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT;")
            w.add(
                f"ALTER TABLE {table} ALTER COLUMN {col} SET DATA TYPE {target} "
                f"USING {col}::text{'[]' if found[1] else ''}::{target};"
            )
            before_col = old_table.columns[name]
            default = before_col.get("default") if _enum_key_of(before_col, [key]) else column.get("default")
            if default is not None:
                w.add(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {_default_sql(default)};")
            done.add((table_key, name))
    w.review(f"dropping the old type fails if anything else still uses it (a function, a view, a cast in {tag})")
    w.add(f"DROP TYPE {_q(key[0], aside)};")
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
    target, col = _tref(table), _q(name)
    label = f"{_label(table)}.{name}"
    if before.get("identity") != after.get("identity") or before.get("generated") != after.get("generated"):
        w.review(
            f"{label} changed its identity or generation expression; draft nothing for that part, write it by hand"
        )
    type_changed = _type_key(before) != _type_key(after)
    default_changed = _default_of(before) != _default_of(after) and not default_done
    if type_changed and after.get("default") is not None and not default_done:
        w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP DEFAULT;")
        default_changed = before.get("default") is not None
    if type_changed:
        type_sql = _plain_type(_type_sql(before, enums))
        w.review(
            f"{label} goes back from {after.get('type')} to {before.get('type')}: values that do not fit "
            "make this fail, and a narrower type loses precision"
        )
        using = (
            f"{col}::text::{type_sql}"
            if _enum_key_of(before, enums) or _enum_key_of(after, enums)
            else f"{col}::{type_sql}"
        )
        w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET DATA TYPE {type_sql} USING {using};")
    if default_changed:
        if before.get("default") is None:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP DEFAULT;")
        else:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET DEFAULT {_default_sql(before['default'])};")
    if bool(before.get("notNull")) != bool(after.get("notNull")):
        if before.get("notNull"):
            w.review(f"SET NOT NULL fails if NULLs were written to {label} since; fill them in first")
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} SET NOT NULL;")
        else:
            w.add(f"ALTER TABLE {target} ALTER COLUMN {col} DROP NOT NULL;")


def _add_column(w: _Writer, table: Key, column: Mapping[str, Any], enums: set[Key], tag: str) -> None:
    name = str(column["name"])
    label = f"{_label(table)}.{name}"
    if column.get("generated"):
        holding = "its generated value"
    elif column.get("identity") or str(column.get("type", "")).lower() in ("serial", "bigserial", "smallserial"):
        holding = "new sequence numbers"
    elif column.get("default") is not None:
        holding = f"its default ({_default_sql(column['default'])})"
    else:
        holding = "NULL"
    w.review(
        f"{tag} dropped {label} and its data with it; the column comes back holding {holding} in every row: "
        "restore the values from a backup if they matter"
    )
    table_sql = _tref(table)
    if column.get("notNull") and holding == "NULL":
        w.add(f"ALTER TABLE {table_sql} ADD COLUMN {_column_sql(column, enums, primary_key=False, not_null=False)};")
        w.review(f"{label} was NOT NULL without a default: fill it in here, or SET NOT NULL fails on a non-empty table")
        w.add(f"ALTER TABLE {table_sql} ALTER COLUMN {_q(name)} SET NOT NULL;")
    else:
        not_null = bool(column.get("notNull"))
        w.add(f"ALTER TABLE {table_sql} ADD COLUMN {_column_sql(column, enums, primary_key=False, not_null=not_null)};")


def _unsupported(prev: _Snapshot, new: _Snapshot, both: list[Key]) -> list[str]:
    """What the draft leaves to a person: parts of the snapshot it does not turn into SQL."""
    notes = []
    for part in ("views", "roles", "policies"):
        if prev.extras.get(part) != new.extras.get(part):
            notes.append(f"the snapshots differ in {part}, which this draft does not undo; write that part by hand")
    changed = [_label(k) for k in both if prev.tables[k].extras != new.tables[k].extras]
    if changed:
        notes.append(
            f"row-level security or policies changed on {', '.join(changed)}; this draft does not undo that, "
            "write it by hand"
        )
    for key, seq in new.sequences.items():
        if key in prev.sequences and prev.sequences[key] != seq:
            notes.append(f"sequence {_label(key)} changed; this draft does not undo that, write ALTER SEQUENCE by hand")
    return notes


def _render(w: _Writer, notes: list[str], *, tag: str, previous_tag: str | None) -> Draft:
    since = (
        f"the snapshots of {previous_tag} and {tag}" if previous_tag else f"an empty schema and the snapshot of {tag}"
    )
    header = [
        f"{DRAFT_MARKER} down migration for {tag}, written by `inv generate` from the difference between {since}.",
        "-- Review every statement and each REVIEW note, then delete the line above:",
        "-- `inv verify --rollback-drafts` fails while it is there.",
    ]
    if not w.chunks:
        notes = [
            "the snapshots are identical (a custom migration?): drizzle-kit knows nothing of its SQL, so nothing "
            "could be drafted; write the statements that undo it by hand",
            *notes,
        ]
    notes += w.take_pending()  # notes no statement followed
    header += [f"-- REVIEW: {n}" for n in notes]
    reviews = [*notes, *(r for r in w.reviews if r not in notes)]
    body = f"{BREAKPOINT}\n".join(f"{chunk}" for chunk in w.chunks)
    text = "\n".join(header) + "\n" + body + ("\n" if body else "")
    return Draft(text=text, statements=len(w.chunks), reviews=reviews)
