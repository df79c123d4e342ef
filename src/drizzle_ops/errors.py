"""Named errors and the exit code each one maps to.

Every message is one line: what is wrong, then what to do about it.
"""

from __future__ import annotations


class OpsError(Exception):
    """Base class: an error we expected and can explain to the user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        """The error for --json output; subclasses add their details."""
        return {"error": type(self).__name__, "message": self.message, "exit_code": self.exit_code}


class UserError(OpsError):
    """Bad input or configuration: a flag, a URL, a workspace file (exit 2)."""

    exit_code = 2


class OperationFailed(OpsError):
    """The operation was valid but failed: SQL error, lock timeout, server down (exit 1)."""

    exit_code = 1


class LockTimeout(OperationFailed):
    """Another process held the migration lock for longer than we were told to wait."""


class MigrationFailed(OperationFailed):
    """A statement of a migration failed; the migration was rolled back."""

    action = "migration"  # how the message names what failed: "migration 0003_x failed at ..."

    def __init__(
        self,
        *,
        tag: str,
        statement_number: int,
        line: int,
        path: str,
        sqlstate: str | None,
        server_message: str,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.tag = tag
        self.statement_number = statement_number
        self.line = line
        self.path = path
        self.sqlstate = sqlstate
        self.server_message = server_message
        self.hint = hint
        self.detail = detail
        super().__init__(self._compose())

    def outcome(self) -> str:
        """The closing sentence: what state the database is in, and what to do."""
        return "The migration was rolled back; fix the SQL and run migrate again."

    def _compose(self) -> str:
        parts = [
            f"{self.action} {self.tag} failed at statement {self.statement_number} ({self.path}:{self.line}):",
            f"[{self.sqlstate or '?????'}] {self.server_message}",
        ]
        if self.detail:
            parts.append(f"detail: {self.detail}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        parts.append(self.outcome())
        return " ".join(parts)

    def with_detail(self, detail: str) -> MigrationFailed:
        """The same failure with more context (who held the lock, what stayed applied)."""
        # not copy.copy: exceptions copy through their args, and ours are keyword-only
        enriched = type(self).__new__(type(self))
        enriched.__dict__.update(self.__dict__)
        enriched.detail = detail
        enriched.message = enriched._compose()
        enriched.args = (enriched.message,)
        return enriched

    def as_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "tag": self.tag,
            "statement": self.statement_number,
            "file": self.path,
            "line": self.line,
            "sqlstate": self.sqlstate,
            "message": self.server_message,
            "detail": self.detail,
            "hint": self.hint,
        }
