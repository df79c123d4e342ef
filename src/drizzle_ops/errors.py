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
        parts = [
            f"migration {tag} failed at statement {statement_number} ({path}:{line}):",
            f"[{sqlstate or '?????'}] {server_message}",
        ]
        if detail:
            parts.append(f"detail: {detail}")
        if hint:
            parts.append(f"hint: {hint}")
        parts.append("The migration was rolled back; fix the SQL and run migrate again.")
        super().__init__(" ".join(parts))

    def with_detail(self, detail: str) -> MigrationFailed:
        return MigrationFailed(
            tag=self.tag,
            statement_number=self.statement_number,
            line=self.line,
            path=self.path,
            sqlstate=self.sqlstate,
            server_message=self.server_message,
            hint=self.hint,
            detail=detail,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "statement": self.statement_number,
            "file": self.path,
            "line": self.line,
            "sqlstate": self.sqlstate,
            "message": self.server_message,
            "detail": self.detail,
            "hint": self.hint,
        }
