"""drizzle-kit v1's history of snapshots: their `prevIds` graph, and the schema at any point of it.

Every drizzle-kit 1.0 snapshot has an ``id`` and the ids of its parents in
``prevIds`` (the all-zero UUID for the first one). Two versions share the folder
layout, and both are read as they are on disk, never rewritten:

- version "8" (1.0.0-beta.x to rc.4): each snapshot holds the whole schema in
  ``ddl`` (rows, see snapshot_v1.py), plus the ``renames`` it was generated with;
- version "9" (rc.5, and what `drizzle-kit up` writes): the first snapshot
  (``"type": "base"``) holds the whole ``ddl``, every later one (``"type": "diff"``)
  holds ``deltas`` against its parents.

Folding a "9" diff: its first parent's state, then the deltas of every snapshot
that only its other parents descend from, in workspace (folder name) order, then
its own deltas, which drizzle-kit computed against exactly that state. This is how
drizzle-kit 1.0.0-rc.5 reconstructs a snapshot.

A migration folder without snapshot.json (hand-written) is no node of the graph:
drizzle-kit's generate and check never see it, and a later snapshot names the one
before it as its parent.

The graph may have several leaves (branches no snapshot merged yet: drizzle-kit
generates nothing when the union of two commutative branches is the schema, and
`--ignore-conflicts` chains the next snapshot to one leaf only). drizzle-kit 1.0
applies every folder by name, so a database holds every branch: the schema at a
point of the history is its leaves merged, from their lowest common ancestor,
every change after it in folder order (the order migrate ran them in).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from drizzle_ops.engine.workspace import ZERO_UUID, Migration, Workspace
from drizzle_ops.errors import UserError
from drizzle_ops.verify.model import Schema
from drizzle_ops.verify.snapshot_v1 import Row, SchemaRows, deltas_between, from_rows

WHOLE = "8"  # drizzle-kit 1.0.0-beta.x to rc.4: every snapshot holds the whole ddl
DELTAS = "9"  # drizzle-kit 1.0.0-rc.5 on: a base, then diffs
VERSIONS = (WHOLE, DELTAS)


class LostSnapshot(UserError):
    """A version "9" snapshot names a parent that no folder has: its state cannot be folded."""

    def __init__(self, message: str, source: str) -> None:
        super().__init__(message)
        self.source = source  # the snapshot that names the missing parent


@dataclass(frozen=True)
class Node:
    source: str  # the snapshot file, for messages
    id: str
    parents: tuple[str, ...]  # as written, the all-zero UUID left out
    kind: str  # "whole" (version 8), "base" or "diff" (version 9)
    body: list[Any]  # the ddl rows (whole, base) or the deltas (diff)
    position: int  # in workspace order


def read_node(source: str, snapshot: Any, position: int) -> Node:
    if not isinstance(snapshot, dict):
        raise UserError(f"{source} is not a JSON object; regenerate it with drizzle-kit")
    version = snapshot.get("version")
    if version not in VERSIONS:
        raise UserError(
            f"{source} is a snapshot of version {version!r}; snapshot conformance reads drizzle-kit v1's versions "
            f"{WHOLE!r} (1.0.0-beta.x to rc.4) and {DELTAS!r} (rc.5 on); regenerate it with your drizzle-kit"
        )
    kind = "whole" if version == WHOLE else snapshot.get("type")
    body = "deltas" if kind == "diff" else "ddl"
    if kind not in ("whole", "base", "diff") or not isinstance(snapshot.get("id"), str):
        raise UserError(f"{source} has no `id` or a `type` other than base/diff; regenerate it with drizzle-kit")
    parents, rows = snapshot.get("prevIds"), snapshot.get(body)
    if not isinstance(parents, list) or not isinstance(rows, list):
        raise UserError(f"{source} ({kind}) has no `prevIds` or `{body}` list; regenerate it with drizzle-kit")
    kept = tuple(str(p) for p in parents if p and p != ZERO_UUID)
    return Node(source, snapshot["id"], kept, kind, rows, position)


class History:
    """The snapshots of one workspace (or of its first migrations), in workspace order."""

    def __init__(self, snapshots: Sequence[tuple[str, Any]]) -> None:
        self.nodes = [read_node(source, snapshot, i) for i, (source, snapshot) in enumerate(snapshots)]
        self.by_id: dict[str, Node] = {}
        for node in self.nodes:
            if node.id in self.by_id:
                raise UserError(
                    f"{node.source} has the id {node.id} of {self.by_id[node.id].source}; a copied snapshot? "
                    "regenerate one of them with drizzle-kit"
                )
            self.by_id[node.id] = node

    def leaves(self) -> list[Node]:
        """The snapshots no other one names as a parent (the branch heads), in workspace order."""
        named = {parent for node in self.nodes for parent in node.parents}
        return [node for node in self.nodes if node.id not in named]

    def ancestors(self, ids: Iterable[str]) -> set[str]:
        """The known snapshots ``ids`` descend from, themselves included."""
        found: set[str] = set()
        stack = list(ids)
        while stack:
            current = stack.pop()
            if current in found or current not in self.by_id:
                continue
            found.add(current)
            stack.extend(self.by_id[current].parents)
        return found

    def common_ancestor(self, ids: Sequence[str]) -> str | None:
        """The newest snapshot every one of ``ids`` descends from (None: they share none)."""
        common = set.intersection(*(self.ancestors([i]) for i in ids)) if ids else set()
        # the deepest one has every other common ancestor among its own ancestors: the largest such set
        return max(common, key=lambda i: (len(self.ancestors([i])), self.by_id[i].position), default=None)

    def state(self, head: str) -> SchemaRows:
        """The schema at snapshot ``head``, with the file that wrote each row."""
        if head not in self.by_id:
            raise UserError(f"no snapshot with id {head}; regenerate the migrations with drizzle-kit")
        chain: list[Node] = []
        node = self.by_id[head]
        visited = {head}
        while node.kind == "diff":
            chain.append(node)
            parent = node.parents[0] if node.parents else ZERO_UUID
            if parent not in self.by_id or parent in visited:
                raise LostSnapshot(
                    f"{node.source}: its first parent {parent} leads to no base snapshot among the migrations up to "
                    f"{self.by_id[head].source}; restore the missing migration folders or regenerate with drizzle-kit",
                    node.source,
                )
            visited.add(parent)
            node = self.by_id[parent]
        state = SchemaRows()
        state.load(node.body, node.source)
        for node in reversed(chain):
            first, *others = node.parents
            unknown = [p for p in others if p not in self.by_id]
            if unknown:
                raise LostSnapshot(
                    f"{node.source}: merges snapshot {unknown[0]}, which no migration up to it has; "
                    "restore the missing migration folder or regenerate with drizzle-kit",
                    node.source,
                )
            if others:
                only_others = self.ancestors(others) - self.ancestors([first])
                for other in self.nodes:
                    if other.id in only_others and other.kind != "base":
                        state.apply(self.own_deltas(other), other.source)
            state.apply(node.body, node.source)
        return state

    def own_deltas(self, node: Node) -> list[Row]:
        """What ``node`` changed after its first parent, as deltas (a "9" diff has them; an "8" snapshot is diffed)."""
        if node.kind == "diff":
            return node.body
        first = node.parents[0] if node.parents else None
        before = self.state(first).rows if node.kind == "whole" and first in self.by_id else {}
        return deltas_between(before, node.body)

    def merged(self, heads: Sequence[str]) -> SchemaRows:
        """The schema a database holds after every snapshot up to ``heads`` was applied in workspace order.

        One head is its own state. Several (open branches) start from their common
        ancestor's state, then take every change after it in workspace order, as
        drizzle-kit's migrate ran them: where two branches changed one thing, the later
        folder's change stands.
        """
        if len(heads) == 1:
            return self.state(heads[0])
        below = self.ancestors(heads)
        for node in self.nodes:  # a lost snapshot leaves its parent looking like an open head: no merge then
            lost = [p for p in node.parents if p not in self.by_id]
            if lost and node.id in below:
                raise LostSnapshot(
                    f"{node.source}: names the parent snapshot {lost[0]}, which no migration up to it has; "
                    "restore the missing migration folder or regenerate with drizzle-kit",
                    node.source,
                )
        base = self.common_ancestor(heads)
        state = self.state(base) if base is not None else SchemaRows()
        after = below - (self.ancestors([base]) if base is not None else set())
        for node in self.nodes:
            if node.id in after:
                state.apply(self.own_deltas(node), node.source)
        return state


def fold_state(snapshots: Sequence[tuple[str, Any]], head: str | None = None) -> SchemaRows:
    """The state at snapshot ``head`` (default: the last one), with the file that wrote each row.

    ``snapshots`` is (file name, parsed snapshot) in workspace order, and must
    hold every ancestor of ``head``.
    """
    if not snapshots:
        return SchemaRows()
    history = History(snapshots)
    return history.state(head if head is not None else history.nodes[-1].id)


def fold(snapshots: Sequence[tuple[str, Any]], head: str | None = None) -> list[Row]:
    """Every ddl row of the schema at snapshot ``head`` (default: the last one)."""
    return list(fold_state(snapshots, head).rows.values())


def workspace_snapshots(workspace: Workspace, head: Migration) -> list[tuple[str, Any]]:
    """(file, snapshot) of every migration up to ``head`` that has one, in workspace order (parents come first)."""
    position = workspace.migrations.index(head)
    return [(str(m.snapshot_path), m.snapshot()) for m in workspace.migrations[: position + 1] if m.snapshot_path]


@dataclass(frozen=True)
class Expected:
    """The schema the snapshots describe once every migration up to a head is applied."""

    schema: Schema
    head: Migration  # the newest migration up to the head that has a snapshot
    merged: tuple[Migration, ...] = ()  # other open branches' heads, merged in


def expected_at(workspace: Workspace, head: Migration) -> Expected | None:
    """What the database should hold after every migration up to ``head``; None when none of them has a snapshot.

    Every open branch up to ``head`` is merged in (drizzle-kit 1.0 applies every
    folder, by name); migrations without a snapshot are left out, as drizzle-kit's
    snapshots leave them out.
    """
    position = workspace.migrations.index(head)
    described = [m for m in workspace.migrations[: position + 1] if m.snapshot_path is not None]
    if not described:
        return None
    history = History([(str(m.snapshot_path), m.snapshot()) for m in described])
    leaves = history.leaves()
    state = history.merged([leaf.id for leaf in leaves])
    newest = described[leaves[-1].position]
    others = tuple(described[leaf.position] for leaf in leaves[:-1])
    return Expected(from_rows(list(state.rows.values()), str(newest.snapshot_path), state.origin), newest, others)


def expected_v1(workspace: Workspace, head: Migration) -> Schema:
    """The schema the v1 snapshots describe after every migration up to ``head`` (an empty one if none has any)."""
    expected = expected_at(workspace, head)
    return expected.schema if expected is not None else from_rows([])
