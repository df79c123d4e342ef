"""`lint --fix` for one file: its flagged statements rewritten, the boundaries placed, the rest left byte for byte."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from pglast import ast

from drizzle_ops.engine.transactionality import MARKER, has_marker
from drizzle_ops.engine.workspace import BOM, BREAKPOINT
from drizzle_ops.errors import OperationFailed
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.fix import splice
from drizzle_ops.lint.fix.catalogue import FIXES, why_not
from drizzle_ops.lint.fix.follow_ups import Column, FollowUp, follow_ups
from drizzle_ops.lint.fix.rewrites import FIELD_DEFAULT, Rewrite, is_outside_already, rewrite
from drizzle_ops.lint.fix.steps import Placed, Step, place
from drizzle_ops.lint.linter import Analysis, excerpt

_CONCURRENT = "ban-concurrent-index-creation-in-transaction"


@dataclass(frozen=True)
class Change:
    """One statement rewritten: the rules it broke, and what stands in its place (boundaries included)."""

    line: int
    rules: tuple[str, ...]
    before: str
    after: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "rules": list(self.rules), "before": self.before, "after": list(self.after)}


@dataclass(frozen=True)
class Unfixed:
    """A finding lint --fix leaves as it is, and why."""

    rule: str
    severity: Severity
    line: int
    statement: str
    reason: str  # why lint --fix leaves it
    message: str = ""  # the finding's own message

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "line": self.line,
            "statement": self.statement,
            "message": self.message,
            "reason": self.reason,
        }


def unified_diff(path: str, before: str | None, after: str) -> str:
    """A unified diff as git prints one (a last line without newline says so); ``before`` None: a new file."""
    lines: list[str] = []
    old, new = (before or "").splitlines(keepends=True), after.splitlines(keepends=True)
    absolute = Path(path).is_absolute()
    source = "/dev/null" if before is None else (path if absolute else f"a/{path}")
    target = path if absolute else f"b/{path}"
    for line in difflib.unified_diff(old, new, source, target):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


@dataclass
class FileFix:
    path: str
    before: str
    after: str
    changes: list[Change] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)  # migrations to add right after this one, in order
    relaxed: list[Column] = field(default_factory=list)  # columns whose NOT NULL moved to a follow-up

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def diff(self) -> str:
        """A unified diff of the file, as git prints one (a last line without newline says so)."""
        return unified_diff(self.path, self.before, self.after)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "changed": self.changed,
            "diff": self.diff(),
            "changes": [c.as_dict() for c in self.changes],
            "unfixed": [u.as_dict() for u in self.unfixed],
            "follow_ups": [f.as_dict() for f in self.follow_ups],
        }


def _whole_file_refusal(analysis: Analysis, breakpoints: bool) -> str | None:
    """Why no statement of this file can be rewritten, or None."""
    if not breakpoints:
        return (
            "its journal entry says breakpoints: false, so drizzle-kit sends the file as one query, where "
            "neither COMMIT nor CONCURRENTLY does what the fix needs"
        )
    if has_marker(analysis.text):
        return f"the file starts with `{MARKER}`, which drizzle-kit does not know; the fix writes COMMIT and BEGIN"
    if any(isinstance(s.node, ast.TransactionStmt) for s in analysis.statements):
        return "the file runs its own BEGIN/COMMIT; the fix does not move its author's transaction boundaries"
    if analysis.text.startswith(BOM):
        return "the file starts with a byte-order mark; save it as UTF-8 without one"
    return None


def fix_analysis(analysis: Analysis, *, breakpoints: bool = True, follow_up_refusal: str | None = None) -> FileFix:
    """The fixed file (``after``) and what was changed and left; ``after == before`` when nothing is fixable.

    ``follow_up_refusal``: why no migration can be added right after this file (it is not the newest one, say),
    or None when the backfill of a column added without its volatile DEFAULT may follow it (``follow_ups``).
    """
    path, text, statements = analysis.path or "<sql>", analysis.text, analysis.statements
    result = FileFix(path, text, text)
    rewrites = [
        rewrite(statement, context, broken) if broken & FIXES.keys() else Rewrite()
        for statement, context, broken in zip(statements, analysis.contexts, analysis.broken, strict=True)
    ]
    if follow_up_refusal is not None:  # the statement as if that rule had not broken it; the rest still fixed
        for index, done in enumerate(rewrites):
            if done.backfills:
                context, broken = analysis.contexts[index], analysis.broken[index] - {FIELD_DEFAULT}
                rewrites[index] = rewrite(statements[index], context, broken) if broken & FIXES.keys() else Rewrite()
                rewrites[index].unfixed[FIELD_DEFAULT] = follow_up_refusal
    wanted = any(r.steps is not None for r in rewrites) or any(
        is_outside_already(s) and _CONCURRENT in b for s, b in zip(statements, analysis.broken, strict=True)
    )
    refusal = _whole_file_refusal(analysis, breakpoints) if wanted else None
    layout = splice.chunks(text, analysis.spans) if wanted and refusal is None else None
    if wanted and refusal is None and layout is None:
        refusal = f"a `{BREAKPOINT}` stands inside a statement, where drizzle-kit splits it"
    alone = {i for chunk in layout or () if len(chunk.statements) == 1 for i in chunk.statements}

    steps: list[list[Step]] = []
    for index, (statement, done) in enumerate(zip(statements, rewrites, strict=True)):
        if done.steps is not None and (refusal is not None or index not in alone):
            reason = refusal or "it shares its chunk with other statements: put `--> statement-breakpoint` between them"
            done.unfixed.update(dict.fromkeys(done.fixed, reason))
            done.fixed.clear()
            done.steps = None
            done.backfills.clear()
        if done.steps is not None:
            steps.append(done.steps)
        else:  # as it is; a CONCURRENTLY already written still needs its COMMIT and BEGIN
            outside = layout is not None and index in alone and is_outside_already(statement)
            steps.append([Step(statement.text, outside=outside)])
        if layout is not None and index in alone and is_outside_already(statement) and done.steps is None:
            done.fixed.update(analysis.broken[index] & {_CONCURRENT})

    backfills = [b for done in rewrites for b in done.backfills]
    if backfills:  # the file commits before the backfill runs (under drizzle-kit, in the same transaction)
        steps[-1][-1] = dataclasses.replace(steps[-1][-1], ends_before_backfill=True)
        result.follow_ups = follow_ups(backfills, _migration_name(path))
        result.relaxed = [b.key for b in backfills if b.not_null]
    flat = [step for group in steps for step in group]
    placed = place(flat) if layout is not None else [Placed(step) for step in flat]
    grouped: list[list[Placed]] = []
    for group in steps:
        grouped.append(placed[: len(group)])
        placed = placed[len(group) :]

    if layout is not None:
        result.after = _rendered(text, layout, analysis, grouped, rewrites)
    for index, (statement, done) in enumerate(zip(statements, rewrites, strict=True)):
        touched = done.steps is not None or any(p.before or p.after for p in grouped[index])
        if touched and result.changed:
            after = tuple(sql for p in grouped[index] for sql in _sqls(p))
            result.changes.append(Change(statement.line, tuple(sorted(done.fixed)), statement.text, after))
    result.unfixed = _left(analysis, result, grouped, rewrites, refusal)
    return result


def _left(
    analysis: Analysis, result: FileFix, grouped: list[list[Placed]], rewrites: list[Rewrite], refusal: str | None
) -> list[Unfixed]:
    """What lint still finds once the fix is made (the fixed text linted again, as the original was), each with
    why the fix leaves it, at the line of the statement it comes from."""
    if result.changed:
        again = analysis.again(result.after)
        origin = [index for index, group in enumerate(grouped) for one in group for _ in _sqls(one)]
        if len(origin) != len(again.statements):  # the fix wrote SQL it cannot read back as it meant: a bug
            raise OperationFailed(f"lint --fix made {result.path} into SQL it cannot read back; please report it")
        found = [(origin[k], finding) for k, findings in enumerate(again.found) for finding in findings]
    else:
        found = [(index, finding) for index, findings in enumerate(analysis.found) for finding in findings]
    left: list[Unfixed] = []
    for index, finding in found:
        statement, done = analysis.statements[index], rewrites[index]
        rule = finding.rule
        reason = done.unfixed.get(rule) or (refusal if rule in FIXES and refusal else None) or why_not(rule)
        left.append(Unfixed(rule, finding.severity, statement.line, excerpt(statement.text), reason, finding.message))
    return left


def _migration_name(path: str) -> str:
    """How a migration is named in a comment: its tag (a v1 migration by its folder)."""
    file = PurePath(path)
    return file.parent.name if file.name == "migration.sql" and file.parent.name else file.stem


def _sqls(one: Placed) -> list[str]:
    return [*(b.sql for b in one.before), one.step.sql, *(b.sql for b in one.after)]


def _rendered(
    text: str,
    layout: list[splice.Chunk],
    analysis: Analysis,
    grouped: list[list[Placed]],
    rewrites: list[Rewrite],
) -> str:
    out: list[str] = []
    for number, chunk in enumerate(layout):
        if number:
            out.append(BREAKPOINT)
        mine = chunk.statements[0] if len(chunk.statements) == 1 else None
        if mine is None or (rewrites[mine].steps is None and not any(p.before or p.after for p in grouped[mine])):
            out.append(text[chunk.start : chunk.end])
            continue
        out.append(splice.render(text, chunk, analysis.spans[mine], grouped[mine]))
    return "".join(out)
