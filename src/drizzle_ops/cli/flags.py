"""Flags, each declared once: its name, help, parser and the invoke.yaml setting it overrides.

A task is its flags plus the function that runs it (cli/tasks.py). ``declare`` builds the invoke
task from them, so the groups several tasks share (where to connect, the output, a fleet's
selection) are written here once. When the task runs, each value given is parsed at once (bad
input: one line, exit 2, before anything else), the settings are made from invoke.yaml with the
flags on top, and the run function gets one ``Given``: the settings and every parsed value, from
which it builds its options dataclass (``Given.options``) and resolves where it goes (``Given.where``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.tasks import Task

from drizzle_ops.cli import flag_values as value
from drizzle_ops.cli.guard import guarded
from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Reading
from drizzle_ops.context.resolve import FleetFlags, Where

T = TypeVar("T")


@dataclass(frozen=True)
class Flag:
    """One flag of one or more tasks."""

    name: str  # the Python name: lock_wait is --lock-wait
    help: str
    default: Any = None  # False: a switch; None: takes a value; a string: its default value
    parse: Callable[[Any], Any] | None = None  # to its own type, or UserError (exit 2)
    setting: str | None = None  # the invoke.yaml key it overrides
    iterable: bool = False  # repeatable: a list

    def but(self, **changes: Any) -> Flag:
        """The same flag with another help text (or default) for one task."""
        return dataclasses.replace(self, **changes)


def _plain(item: Any) -> Any:
    """invoke's config proxies to plain dicts, all the way down."""
    if isinstance(item, Mapping) or hasattr(item, "_config"):
        return {k: _plain(item[k]) for k in item}
    return item


# where the invoke.yaml section names the project folder: set by the collection (see cli/tasks.py), not by users
PROJECT_ROOT_KEY = "project_root"


def settings_from(config: Any, **flags: Any) -> Settings:
    """The ``drizzle_ops`` section of invoke's config, flags on top; paths are relative to the project folder."""
    section = _plain(config.get("drizzle_ops", {})) if config is not None else {}
    root = Path(section.pop(PROJECT_ROOT_KEY, None) or os.getcwd())
    with guarded():  # a bad value in invoke.yaml or a flag is one line and exit 2, like any other
        return Settings.from_mapping(section, root, **flags)


# -- the flags several tasks share ----------------------------------------------------------------------

WORKSPACE = Flag(
    "workspace", "Drizzle package folder (holds drizzle.config.ts); default from invoke.yaml", setting="workspace"
)
URL = Flag("url", "database URL; default: --env's variable, then $DATABASE_URL, then the embedded default server")
ENV = Flag("env", "environment declared in invoke.yaml (e.g. staging); its URL comes from the variable it names")
JSON = Flag("json", "print one JSON document on stdout (progress and logs stay on stderr)", default=False)
STRICT = Flag(
    "strict",
    "exit 1 on any warning about the history (a lost snapshot, a broken snapshot chain, a shared `when`, "
    "an older v1 folder migrate would apply)",
    default=False,
)
# where a task runs, in the order every task declares them
TARGET = (WORKSPACE, URL, ENV, JSON)

LOCK_WAIT = Flag(
    "lock_wait",
    "seconds to wait for another migrate to release the lock (default 60)",
    parse=lambda given: value.seconds("--lock-wait", given),
    setting="lock_wait",
)
YES = Flag("yes", "confirm work on a protected environment (a terminal also asks for its name)", default=False)
ROLLBACK_DIR = Flag(
    "rollback_dir", "folder of <tag>.down.sql files (default sql/rollback, from invoke.yaml)", setting="rollback_dir"
)
ACCEPTED_HELP = (
    "file of reviewed, accepted schema differences that do not fail "
    "(default checks/accepted-differences.txt, from invoke.yaml)"
)
ACCEPTED = Flag("accepted", ACCEPTED_HELP, setting="accepted_differences")
SHARD = Flag(
    "shard",
    "on a fleet: run only shard K of N (K/N, e.g. 2/4): every N-th target of the fleet's stable order, for a CI matrix",
    parse=value.shard,
)
ONLY = Flag(
    "only",
    "on a fleet: only the targets with these labels (comma-separated or repeated; host:port/dbname, or the label "
    "column of targets_query)",
    iterable=True,
)
KEEP_GOING = Flag(
    "keep_going",
    "on a fleet: after a target fails, start the others anyway (a failed canary still stops the fleet)",
    default=False,
)


# -- one run of a task ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """What one run of a task was given: the settings, and every flag's value (parsed)."""

    settings: Settings
    values: Mapping[str, Any]
    remainder: str = ""  # what followed `--` on the command line

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def as_json(self) -> bool:
        return bool(self.values.get("json")) or self.values.get("format") == "json"

    def options(self, kind: type[T]) -> T:
        """``kind`` (a dataclass) from the values of the same names; a dataclass field is filled the same way."""
        return _dataclass_from(kind, self.values)

    def where(self, reading: Reading = Reading.MIGRATIONS) -> Where:
        """--url, --env and the rest of what decides where the run goes (context/resolve.py decides)."""
        return Where(
            url=self.values.get("url"),
            env=self.values.get("env"),
            reading=reading,
            as_json=self.as_json,
            yes=bool(self.values.get("yes")),
        )

    def fleet_flags(self, only: str = "only") -> FleetFlags:
        return FleetFlags(
            shard=self.values.get("shard"),
            only=value.comma_list(self.values.get(only)),
            keep_going=bool(self.values.get("keep_going")),
        )

    def named(self, *names: str) -> list[str]:
        """The flags among ``names`` that were given (for "X cannot be used with Y" refusals), as --flag."""
        return [f"--{name.replace('_', '-')}" for name in names if self.values.get(name)]


def _dataclass_from(kind: type[T], values: Mapping[str, Any]) -> T:
    hints = typing.get_type_hints(kind)
    filled: dict[str, Any] = {}
    for item in dataclasses.fields(kind):  # type: ignore[arg-type]
        hinted = hints.get(item.name)
        if isinstance(hinted, type) and dataclasses.is_dataclass(hinted):
            filled[item.name] = _dataclass_from(hinted, values)
        elif item.name in values and values[item.name] is not None:
            filled[item.name] = values[item.name]
    return kind(**filled)


# -- the invoke task ----------------------------------------------------------------------------------------


class OpsTask(Task):  # type: ignore[type-arg]
    """An invoke task built from a TaskSpec, which it keeps (``tasks.given_for`` builds a run's argument from it)."""

    spec: TaskSpec


class HelpKeepsH(OpsTask):
    """`inv migrate -h` stays help: invoke would give `h` to a flag such as --shard (`s` being taken)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        taken_names.add("h")
        return super().arg_opts(name, default, taken_names)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    doc: str  # the first line of --help
    flags: Sequence[Flag]
    run: str  # "module:function", imported only when the task runs (each task loads only what it uses)
    keeps_h: bool = False


def parse(flags: Sequence[Flag], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every flag's value, parsed (bad input: one line, exit 2); a flag not in ``raw`` has its default."""
    as_json = bool(raw.get("json")) or raw.get("format") == "json"
    with guarded(as_json=as_json):
        return {
            flag.name: flag.parse(raw.get(flag.name, flag.default)) if flag.parse else raw.get(flag.name, flag.default)
            for flag in flags
        }


def given_to(settings: Settings, flags: Sequence[Flag], parsed: Mapping[str, Any], remainder: str = "") -> Given:
    """The run function's argument: --env checked against invoke.yaml, --strict as the settings have it."""
    as_json = bool(parsed.get("json")) or parsed.get("format") == "json"
    with guarded(as_json=as_json):
        if "env" in parsed:
            value.environment(parsed["env"], settings.environments)
    return Given(settings, {**parsed, "strict": settings.strict}, remainder)


def declare(spec: TaskSpec) -> OpsTask:
    """The invoke task of ``spec``: its flags in their order, each with its help."""
    flags = list(spec.flags)

    def body(c: Context, **raw: Any) -> None:
        parsed = parse(flags, raw)
        overrides = {flag.setting: parsed[flag.name] for flag in flags if flag.setting}
        # an unset --strict must not override `strict: true` in invoke.yaml
        settings = settings_from(c.config, strict=parsed.get("strict") or None, **overrides)
        given = given_to(settings, flags, parsed, getattr(c, "remainder", "") or "")
        module, function = spec.run.split(":")
        getattr(importlib.import_module(module), function)(given)

    parameters = [inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(flag.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=flag.default) for flag in flags
    ]
    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__doc__ = spec.doc
    body.__name__ = spec.name
    klass = HelpKeepsH if spec.keeps_h else OpsTask
    task = klass(
        body,
        name=spec.name,
        help={flag.name: flag.help for flag in flags},
        iterable=[flag.name for flag in flags if flag.iterable],
    )
    task.spec = spec
    return task
