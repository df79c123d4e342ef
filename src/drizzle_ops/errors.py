"""Named errors and the exit code each one maps to.

Every message is one line: what is wrong, then what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        role: str | None = None,
        setting: str | None = None,
        connection_lost: bool = False,
    ) -> None:
        self.tag = tag
        self.role = role  # the login role, for permission and read-only advice
        self.setting = setting  # for timeouts: "lock_timeout 5s, set by environment staging"
        self.connection_lost = connection_lost
        self.partial = False  # some statements committed on their own (outside our transaction) and stay applied
        self.statement_number = statement_number
        self.line = line
        self.path = path
        self.sqlstate = sqlstate
        self.server_message = server_message
        self.hint = hint
        self.detail = detail
        super().__init__(self._compose())

    command = "migrate"

    @property
    def cause(self) -> Cause:
        return cause_of(self.sqlstate, connection_lost=self.connection_lost)

    def state(self) -> str:
        """What the database holds of this migration now."""
        if self.partial:
            return f"{self.tag} was not recorded as applied"
        return f"nothing of {self.tag} was committed"

    def advice(self) -> str:
        values = {"command": self.command, "role": self.role, "setting": self.setting or "the server's timeout"}
        advice = _fill(self.cause.advice, **values)
        if self.partial:
            advice += self.rerun_note()
        return advice

    def rerun_note(self) -> str:
        """What the next run does with what stays (here: the statements that stay run again)."""
        return " (what stays runs again then: make those statements safe to repeat, e.g. IF NOT EXISTS)"

    def outcome(self) -> str:
        """The closing sentence: what state the database is in, and what to do (by cause, from CAUSES)."""
        cause = self.cause
        if cause is SQL_ERROR and not self.partial:
            return "The migration was rolled back; fix the SQL and run migrate again."
        values = {"command": self.command, "role": self.role, "setting": self.setting or "the server's timeout"}
        what = _fill(cause.what, **values)
        return f"{what[0].upper()}{what[1:]}; {self.state()}; {self.advice()}."

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

    def with_detail(self, detail: str | None, *, partial: bool | None = None) -> MigrationFailed:
        """The same failure with more context (who held the lock, what stayed applied)."""
        # not copy.copy: exceptions copy through their args, and ours are keyword-only
        enriched = type(self).__new__(type(self))
        enriched.__dict__.update(self.__dict__)
        enriched.detail = detail
        if partial is not None:
            enriched.partial = partial
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
            "cause": self.cause.name,
            "partial": self.partial,  # statements of it committed on their own and stay (the detail says which)
        }


# -- causes: SQLSTATE -> what happened and what to do -------------------------------------------------
#
# One table for every error line that carries a SQLSTATE, so a migration, a
# down file and a bookkeeping step all give the same advice for the same cause.
# A key of five characters is one code; two characters, a whole class. Exact
# codes win over classes; anything not listed is an error in the SQL itself.
# Placeholders: {command} migrate|rollback, {role} the login role, {setting}
# the timeout and who set it.


@dataclass(frozen=True)
class Cause:
    name: str
    what: str  # what happened, as the start of a sentence
    advice: str  # what to do


SQL_ERROR = Cause("sql", "the SQL failed", "fix the SQL and run {command} again")
CONNECTION_LOST = Cause(
    "connection-lost",
    "the connection was lost (server shut down, restarted or the backend was terminated)",
    "run {command} again when the server answers",
)

CAUSES: dict[str, Cause] = {
    "55P03": Cause(
        "lock-timeout",
        "a table lock was not granted within {setting}",
        "find the long transaction that holds it, raise lock_timeout or retries for this environment in "
        "invoke.yaml, or run {command} again at a quieter time",
    ),
    "57014": Cause(
        "statement-timeout",
        "the statement was cancelled after {setting}",
        "raise statement_timeout for this environment in invoke.yaml, or make the statement cheaper",
    ),
    "42501": Cause(
        "permission",
        "role {role} lacks a privilege this needs",
        "grant it to {role} (or connect as the schema's owner) and run {command} again",
    ),
    "25006": Cause(
        "read-only",
        "the transaction is read-only for role {role} (default_transaction_read_only, or a standby server)",
        "connect to the primary, or turn default_transaction_read_only off for {role} and this database",
    ),
    "53100": Cause(
        "disk-full",
        "the server's disk is full",
        "free space on the database server and run {command} again",
    ),
    "53": Cause("resources", "the server ran out of a resource", "fix the server's limits and run {command} again"),
    "08": CONNECTION_LOST,
    "57": CONNECTION_LOST,  # 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
}


def cause_of(sqlstate: str | None, *, connection_lost: bool = False) -> Cause:
    """The row of CAUSES for an error; a closed socket without a SQLSTATE is a lost connection."""
    if sqlstate is None:
        return CONNECTION_LOST if connection_lost else SQL_ERROR
    return CAUSES.get(sqlstate) or CAUSES.get(sqlstate[:2]) or SQL_ERROR


def _fill(text: str, **values: str | None) -> str:
    return text.format(**{k: v or "?" for k, v in values.items()})


class StepFailed(OperationFailed):
    """A bookkeeping step outside any migration failed (creating the table, taking the lock, reading rows)."""

    def __init__(
        self,
        step: str,
        *,
        sqlstate: str | None,
        server_message: str,
        command: str = "migrate",
        role: str | None = None,
        connection_lost: bool = False,
    ) -> None:
        self.step = step
        self.sqlstate = sqlstate
        self.server_message = server_message
        self.cause = cause_of(sqlstate, connection_lost=connection_lost)
        values = {"command": command, "role": role, "setting": "the server's own timeout"}
        if self.cause is SQL_ERROR:  # our own SQL, not the user's: "fix the SQL" would mislead
            what, advice = (
                "the database refused it",
                "check the bookkeeping table and the role, then run {command} again",
            )
        else:
            what, advice = self.cause.what, self.cause.advice
        what, advice = _fill(what, **values), _fill(advice, **values)
        super().__init__(f"{step} failed: [{sqlstate or '?????'}] {server_message}; {what}; {advice}")

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "step": self.step, "sqlstate": self.sqlstate, "cause": self.cause.name}
