"""Settings: invoke.yaml defaults with flags on top (where the database is: target.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drizzle_ops.errors import UserError


@dataclass(frozen=True)
class Environment:
    name: str
    url_env: str | None = None  # the variable holding the URL; never the URL itself
    protected: bool = False
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    retries: int = 0  # extra attempts after a lock timeout (SQLSTATE 55P03)
    retry_backoff: float = 0.5  # seconds before the first retry; doubles each time
    fleet: FleetSource | None = None  # a fleet of databases instead of one (context/fleet/build.py reads it)
    # the variable holding the direct URL (no pooler) for work that needs a session; None: the settings' default
    direct_url_env: str | None = None
    # what the URL goes through: "transaction" (a transaction-mode pooler), "session"/"none" (keeps its
    # session); None: recognised from the URL (engine/pooler.py)
    pooler: str | None = None

    @property
    def is_fleet(self) -> bool:
        return self.fleet is not None


@dataclass(frozen=True)
class FleetSource:
    """Where a fleet environment's target URLs come from (exactly one of the three), and how to run them."""

    targets_env: str | None = None  # a variable holding URLs, one a line or whitespace-separated
    targets_file: Path | None = None  # a file of URLs, relative to the project folder
    targets_query: str | None = None  # SQL run on the environment's url_env database: a url column, optional label
    parallel: int = 4
    canary: int = 1  # run these first, alone; if one fails nothing else starts

    @property
    def origin(self) -> str:
        """Where the URLs come from, for messages: never a URL."""
        if self.targets_env:
            return f"${self.targets_env}"
        if self.targets_file:
            return f"targets_file {self.targets_file}"
        return "targets_query"


@dataclass(frozen=True)
class Settings:
    project_root: Path
    workspace: Path
    rollback_dir: Path
    checks_dir: Path
    state_dir: Path
    # conformance differences a team has reviewed and accepted (verify/accepted.py); a missing file accepts none
    accepted_differences: Path
    lock_wait: float = 60.0
    connect_timeout: int = 10
    provider: str = "auto"
    pg_major: str | None = None
    environments: dict[str, Environment] = field(default_factory=dict)
    overrides: dict[str, str | None] = field(default_factory=dict)  # out, migrations_table, migrations_schema
    strict: bool = False  # --strict: a warning (a lost snapshot, a broken chain) fails the run with exit 1
    # the variable holding the direct URL when an environment names none (Supabase and Prisma call it DIRECT_URL)
    direct_url_env: str = "DIRECT_URL"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], project_root: Path, **flags: Any) -> Settings:
        """Build from the ``drizzle_ops`` section of invoke.yaml; non-None flags win."""
        merged: dict[str, Any] = {k: v for k, v in dict(data).items()}
        merged.update({k: v for k, v in flags.items() if v is not None})

        def path(key: str, default: str) -> Path:
            value = Path(os.path.expanduser(str(merged.get(key) or default)))
            return value if value.is_absolute() else project_root / value

        envs: dict[str, Environment] = {}
        for name, spec in dict(merged.get("environments") or {}).items():
            spec = dict(spec or {})
            unknown = set(spec) - {
                "url_env",
                "protected",
                "lock_timeout",
                "statement_timeout",
                "retries",
                "retry_backoff",
                "direct_url_env",
                "pooler",
                *FLEET_KEYS,
            }
            if unknown:
                raise UserError(f"invoke.yaml: environment {name} has unknown keys {sorted(unknown)}")
            try:
                retries, backoff = int(spec.get("retries", 0)), float(spec.get("retry_backoff", 0.5))
            except (TypeError, ValueError):
                raise UserError(f"invoke.yaml: environment {name}: retries and retry_backoff must be numbers") from None
            envs[name] = Environment(
                name=name,
                url_env=spec.get("url_env"),
                protected=bool(spec.get("protected", False)),
                lock_timeout=_duration(spec.get("lock_timeout")),
                statement_timeout=_duration(spec.get("statement_timeout")),
                retries=retries,
                retry_backoff=backoff,
                fleet=_fleet_source(name, spec, project_root),
                direct_url_env=str(spec["direct_url_env"]) if spec.get("direct_url_env") else None,
                pooler=_pooler(name, spec.get("pooler")),
            )
        try:
            lock_wait = float(merged.get("lock_wait", 60))
            connect_timeout = int(merged.get("connect_timeout", 10))
        except (TypeError, ValueError):
            raise UserError("lock_wait and connect_timeout must be numbers of seconds") from None
        if lock_wait < 0:
            raise UserError("--lock-wait must be zero or more seconds")
        return cls(
            project_root=project_root,
            workspace=path("workspace", "."),
            rollback_dir=path("rollback_dir", "sql/rollback"),
            checks_dir=path("checks_dir", "checks"),
            state_dir=path("state_dir", ".drizzle-ops"),
            accepted_differences=path("accepted_differences", "checks/accepted-differences.txt"),
            lock_wait=lock_wait,
            connect_timeout=connect_timeout,
            provider=str(merged.get("provider") or "auto"),
            pg_major=str(merged["pg"]) if merged.get("pg") else None,
            environments=envs,
            overrides={k: merged.get(k) for k in ("out", "migrations_table", "migrations_schema")},
            strict=bool(merged.get("strict", False)),
            direct_url_env=str(merged.get("direct_url_env") or "DIRECT_URL"),
        )

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise UserError(f"unknown environment {name!r} (invoke.yaml declares: {known})")
        return self.environments[name]


POOLER_MODES = ("transaction", "session", "none")


def _pooler(name: str, value: Any) -> str | None:
    """An environment's ``pooler:``, checked: one of POOLER_MODES, or absent (recognised from the URL)."""
    if value is None or value == "":
        return None
    if value is False:  # YAML reads `pooler: no` as false
        return "none"
    if str(value) not in POOLER_MODES:
        raise UserError(
            f"invoke.yaml: environment {name}: pooler must be one of {', '.join(POOLER_MODES)}, not {value!r}"
        )
    return str(value)


FLEET_KEYS = ("targets_env", "targets_file", "targets_query", "parallel", "canary")


def _fleet_source(name: str, spec: Mapping[str, Any], project_root: Path) -> FleetSource | None:
    """The fleet part of an environment, validated: each mistake is one line (exit 2)."""
    sources = [key for key in ("targets_env", "targets_file", "targets_query") if spec.get(key)]
    if not sources:
        extra = [key for key in ("parallel", "canary") if key in spec]
        if extra:
            raise UserError(
                f"invoke.yaml: environment {name}: {' and '.join(extra)} apply only to a fleet; "
                "add targets_env, targets_file or targets_query"
            )
        return None
    if len(sources) > 1:
        raise UserError(f"invoke.yaml: environment {name}: choose one of {', '.join(sources)}, not several")
    if "targets_query" in sources and not spec.get("url_env"):
        raise UserError(
            f"invoke.yaml: environment {name}: targets_query needs url_env, the variable holding the URL of the "
            "database it runs on"
        )
    if spec.get("url_env") and "targets_query" not in sources:
        raise UserError(
            f"invoke.yaml: environment {name}: url_env is only for targets_query (the database the query runs on); "
            f"with {sources[0]} remove it"
        )
    parallel = _count(name, "parallel", spec.get("parallel", 4), least=1)
    canary = _count(name, "canary", spec.get("canary", 1), least=0)
    file = spec.get("targets_file")
    path = None
    if file:
        path = Path(os.path.expanduser(str(file)))
        path = path if path.is_absolute() else project_root / path
    return FleetSource(
        targets_env=str(spec["targets_env"]) if spec.get("targets_env") else None,
        targets_file=path,
        targets_query=str(spec["targets_query"]) if spec.get("targets_query") else None,
        parallel=parallel,
        canary=canary,
    )


def _count(name: str, key: str, value: Any, *, least: int) -> int:
    # a bool is an int to Python, and `parallel: yes` is no number of connections
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise UserError(f"invoke.yaml: environment {name}: {key} must be a whole number ≥ {least}, not {value!r}")
    number = int(value)
    if number < least:
        raise UserError(f"invoke.yaml: environment {name}: {key} must be a whole number ≥ {least}, not {value!r}")
    return number


def _duration(value: Any) -> str | None:
    """Postgres durations: a number is milliseconds, text like '5s' or '15min' passes through."""
    if value is None or value == "":
        return None
    return f"{value}ms" if isinstance(value, (int, float)) else str(value)
