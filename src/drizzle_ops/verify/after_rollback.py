"""`rollback --verify`: after a down file, does the schema match the snapshot of the new head?

The rollback engine calls this inside the step's own transaction, before it
commits (see ``rollback.revert``). ``check_conformance`` works in a savepoint
that it always rolls back, so the step's transaction stays usable either way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import psycopg

from drizzle_ops.engine.rollback import StepVerification, StepVerifier
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.verify.conformance import check_conformance


def verifier(
    workspace: Workspace, *, accepted: Collection[str] | None = None, log: Callable[[str], None] | None = None
) -> StepVerifier:
    """A StepVerifier for ``workspace`` that logs each verdict (and every difference) to ``log``.

    ``accepted``: the reviewed accepted-differences lines, which do not fail a step either.
    """

    def say(message: str) -> None:
        if log:
            log(message)

    def verify(conn: psycopg.Connection, head: Migration | None) -> StepVerification:
        result = check_conformance(conn, workspace, head, accepted)
        tag = head.tag if head else None
        if result.skipped:  # e.g. "no snapshot for <tag>": nothing to compare with, which is not a failure
            say(f"  not verified: {result.skipped}")
            return StepVerification(tag, "skip", result.skipped)
        target = f"the snapshot of {tag}" if tag else "an empty schema"
        if result.ok:
            say(f"  verified: the schema matches {target}, the new head")
            accepted_note = f" apart from {len(result.accepted)} accepted difference(s)" if result.accepted else ""
            return StepVerification(tag, "pass", f"matches {target} ({result.tables} table(s)){accepted_note}")
        differences = [str(d) for d in result.differences]
        say(f"  the schema does not match {target}:")
        for difference in differences:
            say(f"    {difference}")
        return StepVerification(tag, "fail", f"{len(differences)} difference(s) from {target}", differences)

    return verify
