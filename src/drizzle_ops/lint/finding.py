"""What a lint reports: one finding per rule violation, located by file and line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    """How bad a finding is; CI fails on findings at or above ``--fail-on`` (default: error).

    error: the migration cannot succeed on a populated table, or it breaks clients
    that are running during the deploy, or it destroys data.
    warning: it takes a lock whose cost grows with the table's size or traffic;
    fine on small tables, an outage on large ones, so a person decides.
    """

    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.WARNING else 2


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    file: str | None
    line: int  # 1-based line in the file where the statement starts
    statement: str  # the statement's first line, shortened
    help: str  # the safe alternative

    @property
    def location(self) -> str:
        return f"{self.file or '<sql>'}:{self.line}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "statement": self.statement,
            "help": self.help,
        }
