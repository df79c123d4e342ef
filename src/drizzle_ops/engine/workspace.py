"""The Drizzle workspace on disk: config, journal, SQL files and snapshots.

What drizzle-kit's own `migrate` needs (the journal and the SQL files) is
validated when the workspace is loaded, and every problem names its file.
Snapshots are optional, as they are to drizzle-kit: a missing one is a warning,
and the chain of `prevId`s is read only by the tasks that need it (generate,
conformance). Each SQL file is read once and kept as its bytes, cut at the breakpoints: the form
its statements are sent in, so a large seed INSERT is held once and is itself the query that
carries it (engine/one_transaction.py). Its text is decoded whenever it is asked for, and dropped.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from drizzle_ops.engine.drizzle_config import DrizzleConfig, read_drizzle_config
from drizzle_ops.errors import UserError
from drizzle_ops.paths import display_path

BREAKPOINT = "--> statement-breakpoint"
BOM = "\ufeff"
_BREAKPOINT_BYTES = BREAKPOINT.encode()
_BOM_BYTES = BOM.encode()
JOURNAL = "journal"  # drizzle-kit 0.31: meta/_journal.json, <tag>.sql, meta/<prefix>_snapshot.json
FOLDERS = "folders"  # drizzle-kit v1: <YYYYMMDDHHMMSS>_<name>/migration.sql and snapshot.json
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
# every journal dialect drizzle-kit 0.31's migrate reads for Postgres: "pg" is the header before 0.21
JOURNAL_DIALECTS = (None, "postgresql", "pg")
_LEADING_SPACE = re.compile(r"\s*")  # what str.lstrip() takes (the same whitespace), found without a copy
_CHECKED_AT_ONCE = 1 << 16  # bytes decoded at a time to check a file is UTF-8


@dataclass(frozen=True, slots=True)
class Statement:
    """One chunk between breakpoints, exactly as drizzle sends it.

    A migration's chunk keeps the bytes read from its file, the form it is sent in; ``sql``
    decodes them each time it is read rather than keeping a second copy beside them (a seed
    INSERT can be tens of MB). A chunk made from text (a down file) keeps its text.
    """

    number: int  # 1-based
    source: str | bytes = field(repr=False)  # the chunk's text, or its UTF-8 bytes as read from the file
    line: int  # line in the file where the chunk's text starts

    @property
    def sql(self) -> str:
        source = self.source
        return source if isinstance(source, str) else source.decode("utf-8")

    @property
    def size(self) -> int:
        """Its length in UTF-8 bytes."""
        source = self.source
        return len(source) if isinstance(source, bytes) else len(source.encode("utf-8"))

    def encoded(self, encoding: str) -> bytes:
        """The chunk as a connection in ``encoding`` takes it: for UTF-8, the bytes read from the file (no copy)."""
        if isinstance(self.source, bytes) and is_utf8(encoding):
            return self.source
        return self.sql.encode(encoding)


def is_utf8(encoding: str) -> bool:
    """Whether a connection's (Python) encoding name is UTF-8."""
    return codecs.lookup(encoding).name == "utf-8"


def split_statements(text: str) -> list[Statement]:
    """Split like drizzle (no trimming); chunks with nothing but blanks are not sent."""
    result: list[Statement] = []
    line = 1
    # Postgres rejects a byte-order mark as a syntax error; it is no part of any statement.
    # Without a breakpoint or a BOM the one chunk is ``text`` itself: split copies nothing then
    for chunk in text.removeprefix(BOM).split(BREAKPOINT):
        leading = _leading_space(chunk)
        if leading < len(chunk):  # chunk.strip() is not empty; strip and lstrip would copy the chunk
            result.append(Statement(len(result) + 1, chunk, line + chunk.count("\n", 0, leading)))
        line += chunk.count("\n")
    return result


def _leading_space(text: str) -> int:
    """How many characters ``text.lstrip()`` would take off."""
    return _LEADING_SPACE.match(text).end()  # type: ignore[union-attr]


def line_of(statement: Statement, position: int | None) -> int:
    """Line in the file of a 1-based character position inside a statement."""
    if not position:
        return statement.line
    sql = statement.sql
    return statement.line - sql.count("\n", 0, _leading_space(sql)) + sql.count("\n", 0, position - 1)


def leading_bytes(chunk: bytes) -> int:
    """How many bytes of ``chunk`` are what its text's lstrip() takes off; decodes only as much as it must."""
    size = 256
    while True:
        head = chunk[:size].decode("utf-8", errors="ignore")  # a character cut at the end is left out
        space = _leading_space(head)
        if space < len(head) or size >= len(chunk):
            return len(head[:space].encode("utf-8"))
        size *= 16


def check_utf8(raw: bytes) -> None:
    """Raise UnicodeDecodeError, ``start`` counted from the first byte, unless ``raw`` is UTF-8.

    Decoded a piece at a time and dropped: a whole str of a seed with one emoji in it takes four bytes a
    character (with a two-byte copy on the way), six times the file.
    """
    if raw.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(raw), _CHECKED_AT_ONCE):
        pending = len(decoder.getstate()[0])  # the bytes of a character the last piece cut
        try:
            decoder.decode(raw[start : start + _CHECKED_AT_ONCE], final=start + _CHECKED_AT_ONCE >= len(raw))
        except UnicodeDecodeError as exc:
            at = start - pending
            raise UnicodeDecodeError("utf-8", raw, at + exc.start, at + exc.end, exc.reason) from None


@dataclass(frozen=True)
class SqlFile:
    """A migration's SQL file as read: its bytes cut at the breakpoints (a byte-order mark apart), and their sha256."""

    chunks: tuple[bytes, ...]
    bom: bool
    digest: str  # sha256 of the file's bytes, BOM and all: drizzle's hash (of the text Node decoded, the same bytes)

    @classmethod
    def of(cls, raw: bytes) -> SqlFile:
        """The file of these bytes; raises UnicodeDecodeError when they are not UTF-8."""
        check_utf8(raw)  # the text is decoded only when asked for
        bom = raw.startswith(_BOM_BYTES)
        body = raw[len(_BOM_BYTES) :] if bom else raw
        # without a breakpoint the one chunk is ``body`` itself: split copies nothing then
        return cls(tuple(body.split(_BREAKPOINT_BYTES)), bom, hashlib.sha256(raw).hexdigest())

    @property
    def text(self) -> str:
        """The file's text, decoded anew each time (a file without breakpoints: one decode, no other copy)."""
        body = BREAKPOINT.join(chunk.decode("utf-8") for chunk in self.chunks)
        return BOM + body if self.bom else body

    def statements(self) -> list[Statement]:
        """Split like drizzle, as ``split_statements`` splits the text; each statement keeps its chunk's bytes."""
        result: list[Statement] = []
        line = 1
        for chunk in self.chunks:
            leading = leading_bytes(chunk)
            if leading < len(chunk):
                result.append(Statement(len(result) + 1, chunk, line + chunk.count(b"\n", 0, leading)))
            line += chunk.count(b"\n")
        return result


@dataclass(frozen=True, init=False)
class Migration:
    idx: int
    tag: str
    when: int
    breakpoints: bool
    sql_path: Path
    snapshot_path: Path | None  # None: no snapshot file (a lost one); drizzle-kit's migrate never reads them
    file: SqlFile = field(repr=False)

    def __init__(
        self,
        idx: int,
        tag: str,
        when: int,
        breakpoints: bool,
        sql_path: Path,
        snapshot_path: Path | None,
        text: str | None = None,
        *,
        file: SqlFile | None = None,
    ) -> None:
        """From the file as read (``file``), or from its ``text``."""
        if file is None:
            if text is None:
                raise TypeError("a Migration needs its file or its text")
            file = SqlFile.of(text.encode("utf-8"))
        for name, value in (
            ("idx", idx),
            ("tag", tag),
            ("when", when),
            ("breakpoints", breakpoints),
            ("sql_path", sql_path),
            ("snapshot_path", snapshot_path),
            ("file", file),
        ):
            object.__setattr__(self, name, value)

    @property
    def text(self) -> str:
        """The file's text, decoded from its bytes on each read: hold on to it only as long as needed."""
        return self.file.text

    @property
    def hash(self) -> str:
        return self.file.digest

    @cached_property
    def statements(self) -> list[Statement]:
        return self.file.statements()

    def line_of(self, statement: Statement, position: int | None) -> int:
        return line_of(statement, position)

    @property
    def notes(self) -> list[str]:
        """Things worth a warning when the migration runs; drizzle-kit would fail or stay silent."""
        notes = []
        if self.file.bom:
            notes.append(f"{self.tag} starts with a byte-order mark; it was left out of the SQL (the hash keeps it)")
        if not self.statements:
            notes.append(f"{self.tag} has no statements; it is recorded as applied")
        return notes

    def snapshot(self) -> dict[str, Any]:
        if self.snapshot_path is None:
            raise UserError(f"{self.tag} has no snapshot file; restore it from version control")
        data = _load_json(self.snapshot_path)
        if not isinstance(data, dict):
            raise UserError(f"{self.snapshot_path} is not a JSON object; regenerate it with drizzle-kit")
        return data


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: DrizzleConfig
    migrations_dir: Path
    migrations: list[Migration]
    layout: str = "journal"  # JOURNAL (drizzle-kit 0.31) or FOLDERS (drizzle-kit v1)
    # what drizzle-kit accepts but a person should hear about (found without reading any snapshot)
    warnings: tuple[str, ...] = ()
    # SQL files in the migrations folder the journal does not list: never applied, by drizzle-kit or us
    not_in_journal: tuple[str, ...] = ()

    def snapshot_chain_problem(self) -> str | None:
        """The first break in the snapshots' parent links, or None; reads every snapshot (for generate, drift)."""
        return _chain_problem(self.migrations, self.root, folders=self.layout == FOLDERS)

    @property
    def records_names(self) -> bool:
        """v1 keeps each migration's name in the bookkeeping table and decides what is pending by it."""
        return self.layout == FOLDERS

    @property
    def migrations_table(self) -> str:
        return self.config.migrations_table

    @property
    def migrations_schema(self) -> str:
        return self.config.migrations_schema

    def by_tag(self, tag: str) -> Migration:
        for migration in self.migrations:
            if migration.tag == tag:
                return migration
        known = ", ".join(m.tag for m in self.migrations[-3:]) or "none"
        raise UserError(f"no migration tagged {tag!r} in {self.migrations_dir} (latest: {known}); check the tag")


def _load_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not valid UTF-8; re-save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "restore it from version control or regenerate it with drizzle-kit"
        ) from None


def _read_sql(path: Path) -> SqlFile:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(
            f"{path} is missing but the journal lists it; restore the file or regenerate with drizzle-kit"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return SqlFile.of(raw)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from None


def _journal_entries(journal_path: Path) -> list[dict[str, Any]]:
    if not journal_path.is_file():
        raise UserError(
            f"no migration journal at {journal_path}; run `inv generate` (drizzle-kit generate) first, "
            "or check `out` in drizzle.config.ts"
        )
    journal = _load_json(journal_path)
    if not isinstance(journal, dict) or not isinstance(journal.get("entries"), list):
        raise UserError(f"{journal_path} has no `entries` list; restore it from version control")
    dialect = journal.get("dialect")
    if dialect not in JOURNAL_DIALECTS:
        raise UserError(f"{journal_path} is for dialect {dialect!r}; drizzle-ops supports postgresql only")
    entries: list[dict[str, Any]] = journal["entries"]
    for position, entry in enumerate(entries):
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("idx"), int)
            and isinstance(entry.get("when"), int)
            and isinstance(entry.get("tag"), str)
            and entry["tag"]
        )
        if not ok:
            raise UserError(
                f"{journal_path}: entry {position} needs integer `idx` and `when` and a string `tag`; "
                "restore the journal from version control"
            )
        if "/" in entry["tag"] or "\\" in entry["tag"] or entry["tag"].startswith("."):
            raise UserError(f"{journal_path}: entry {position} has an invalid tag {entry['tag']!r}")
    return entries


def _check_journal(journal_path: Path, entries: list[dict[str, Any]]) -> list[str]:
    """Refuse what drizzle-kit could not apply either; return warnings for what it applies with surprises."""
    seen_when: dict[int, str] = {}
    seen_tags: set[str] = set()
    warnings: list[str] = []
    for entry in entries:
        tag, when = entry["tag"], entry["when"]
        if tag in seen_tags:
            raise UserError(f"{journal_path}: tag {tag} appears twice; remove the duplicate entry")
        if when in seen_when and not warnings:
            warnings.append(
                f"{tag} and {seen_when[when]} have the same journal `when` ({when}): on a database that has "
                "one of them, drizzle-kit skips the other; give one of them a new timestamp"
            )
        seen_when.setdefault(when, tag)
        seen_tags.add(tag)
    return warnings


def snapshot_file_name(tag: str) -> str:
    """drizzle-kit's own rule (its `drop` command): the tag's prefix before the first '_', then _snapshot.json.

    It covers every `migrations.prefix`: index (0007), timestamp and supabase
    (20250101120000), unix (1735732800) and none ("" — every migration writes
    meta/_snapshot.json, so only the newest one keeps it).
    """
    return f"{tag.split('_')[0]}_snapshot.json"


def _journal_migrations(migrations_dir: Path) -> tuple[list[Migration], list[str]]:
    journal_path = migrations_dir / "meta" / "_journal.json"
    entries = _journal_entries(journal_path)
    warnings = _check_journal(journal_path, entries)
    meta = migrations_dir / "meta"
    present = set(os.listdir(meta))  # one listing instead of a stat per migration
    owner = {snapshot_file_name(entry["tag"]): entry["tag"] for entry in entries}  # the last entry naming a file
    migrations = []
    for entry in entries:
        name = snapshot_file_name(entry["tag"])
        sql_path = migrations_dir / f"{entry['tag']}.sql"
        migrations.append(
            Migration(
                idx=entry["idx"],
                tag=entry["tag"],
                when=entry["when"],
                breakpoints=bool(entry.get("breakpoints", True)),
                sql_path=sql_path,
                snapshot_path=meta / name if name in present and owner[name] == entry["tag"] else None,
                file=_read_sql(sql_path),
            )
        )
    return migrations, warnings


def unlisted_sql(migrations_dir: Path, migrations: list[Migration]) -> list[str]:
    """Names (without .sql) of the folder's SQL files no journal entry lists: one directory listing.

    A migration generated on a branch and dropped from the journal in a merge stays
    behind as such a file; drizzle-kit's migrate reads only the journal, so it never runs.
    """
    listed = {m.sql_path.name for m in migrations}
    return sorted(n[: -len(".sql")] for n in os.listdir(migrations_dir) if n.endswith(".sql") and n not in listed)


def _not_in_journal_warning(names: list[str], migrations_dir: Path, root: Path) -> list[str]:
    if not names:
        return []
    shown = ", ".join(f"{n}.sql" for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    folder = display_path(migrations_dir, root)
    return [
        f"{len(names)} SQL file(s) in {folder} are not in the journal ({shown}): drizzle-kit and drizzle-ops "
        "never apply them; add each to meta/_journal.json (drizzle-kit generate --custom) or delete it"
    ]


def folder_millis(name: str) -> int | None:
    """drizzle v1's created_at: the folder's leading YYYYMMDDHHMMSS read as UTC, in milliseconds."""
    stamp = name[:14]
    if len(stamp) != 14 or not stamp.isdigit():
        return None
    try:
        moment = datetime(
            int(stamp[:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[8:10]),
            int(stamp[10:12]),
            int(stamp[12:14]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    return int(moment.timestamp()) * 1000


def _folder_migrations(migrations_dir: Path) -> list[Migration]:
    # like drizzle v1: every sub-folder holding a migration.sql, in name order
    folders = sorted(p for p in migrations_dir.iterdir() if (p / "migration.sql").is_file())
    migrations = []
    for idx, folder in enumerate(folders):
        when = folder_millis(folder.name)
        if when is None:
            raise UserError(
                f"{folder}: a drizzle-kit v1 migration folder must start with YYYYMMDDHHMMSS; "
                "rename it the way drizzle-kit generate names folders"
            )
        snapshot_path = folder / "snapshot.json"
        migrations.append(
            Migration(
                idx=idx,
                tag=folder.name,
                when=when,
                breakpoints=True,
                sql_path=folder / "migration.sql",
                snapshot_path=snapshot_path if snapshot_path.is_file() else None,
                file=_read_sql(folder / "migration.sql"),
            )
        )
    return migrations


def _missing_snapshots_warning(migrations: list[Migration], root: Path) -> list[str]:
    # with prefix "none" every migration writes meta/_snapshot.json: only the newest one can have lost it
    newest_naming = {snapshot_file_name(m.tag): m.tag for m in migrations}
    missing = [m for m in migrations if m.snapshot_path is None and newest_naming[snapshot_file_name(m.tag)] == m.tag]
    if not missing:
        return []
    first = missing[0]
    if first.sql_path.name == "migration.sql":
        # v1: drizzle-kit's snapshots leave such a folder out (the next snapshot's parent is the one before it)
        return [
            f"{len(missing)} migration folder(s) have no snapshot.json, first {first.tag} "
            f"({display_path(first.sql_path.parent, root)}, written by hand?); drizzle-kit's migrate applies them "
            "and its snapshots leave them out, so schema conformance compares with the newest snapshot before "
            "such a folder"
        ]
    expected = first.sql_path.parent / "meta" / snapshot_file_name(first.tag)
    return [
        f"{len(missing)} migration(s) have no snapshot, first {first.tag} ({display_path(expected, root)}); "
        "drizzle-kit's migrate never reads them, so this only skips schema conformance while such a "
        "migration is the applied head"
    ]


def _chain_problem(migrations: list[Migration], root: Path, *, folders: bool) -> str | None:
    """The first snapshot whose parent is not the snapshot before it (0.31: `prevId`; v1: `prevIds`).

    A lost snapshot leaves a gap that cannot be checked, so the link across a gap is not judged.
    """
    seen = {ZERO_UUID}
    previous_id: Any = ZERO_UUID
    gap = False
    for migration in migrations:
        if migration.snapshot_path is None:
            gap = True
            continue
        shown = display_path(migration.snapshot_path, root)
        snapshot = migration.snapshot()
        parents = snapshot.get("prevIds") if folders else [snapshot.get("prevId")]
        if "id" not in snapshot or not isinstance(parents, list) or None in parents:
            return f"{shown} has no `id`/`{'prevIds' if folders else 'prevId'}`; regenerate it with drizzle-kit"
        if not gap:
            if folders and not all(p in seen for p in parents):
                unknown = ", ".join(str(p) for p in parents if p not in seen)
                return f"{shown}: prevIds {unknown} match no earlier snapshot; the snapshot chain is broken"
            if not folders and parents[0] != previous_id:
                return (
                    f"{shown}: prevId {parents[0]} is not the id of the snapshot before it ({previous_id}); "
                    "the snapshot chain is broken (a merge of two branches?)"
                )
        seen.add(snapshot["id"])
        previous_id = snapshot["id"]
        gap = False
    return None


def detect_layout(migrations_dir: Path) -> str:
    if (migrations_dir / "meta" / "_journal.json").is_file():
        return JOURNAL
    if migrations_dir.is_dir() and any((p / "migration.sql").is_file() for p in migrations_dir.iterdir()):
        return FOLDERS
    raise UserError(
        f"no migrations in {migrations_dir} (neither meta/_journal.json nor <timestamp>_<name>/migration.sql); "
        "run `inv generate` (drizzle-kit generate) first, or check `out` in drizzle.config.ts"
    )


def load_workspace(root: Path, overrides: dict[str, str | None] | None = None) -> Workspace:
    """Read and validate a drizzle-kit workspace, in the 0.31 journal layout or the v1 folder layout.

    Reads no snapshot: what is wrong with them is a warning, since drizzle-kit's migrate never reads them.
    """
    root = root.resolve()
    if not root.is_dir():
        raise UserError(f"workspace {root} does not exist; pass --workspace with the Drizzle package folder")
    config = read_drizzle_config(root, overrides)
    migrations_dir = (root / config.out).resolve()
    layout = detect_layout(migrations_dir)
    unlisted: list[str] = []
    if layout == JOURNAL:
        migrations, warnings = _journal_migrations(migrations_dir)
        unlisted = unlisted_sql(migrations_dir, migrations)
    else:
        migrations, warnings = _folder_migrations(migrations_dir), []
    warnings += _not_in_journal_warning(unlisted, migrations_dir, root)
    warnings += _missing_snapshots_warning(migrations, root)
    return Workspace(
        root=root,
        config=config,
        migrations_dir=migrations_dir,
        migrations=migrations,
        layout=layout,
        warnings=tuple(warnings),
        not_in_journal=tuple(unlisted),
    )
