"""Nox sessions: lint, typecheck, tests on every Python found, the Postgres-major container matrix, and
the start-up budget of the short runs (importtime).

`nox` runs what CI runs. Before pytest, every test session installs the example
workspaces' Node packages (drizzle-kit) where node_modules is missing and npm is
on the PATH. The container sessions need a Docker engine and the
`postgres:<major>` images (.ci/run provides both on a machine without a registry).
With DRIZZLE_OPS_REQUIRE_ALL=1 (.ci/run sets it) a test whose tool is missing
fails instead of skipping; every session ends with what it skipped, and why.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "src"))  # works before the project is installed
sys.path.insert(0, os.path.dirname(__file__))  # devtools/: the project's own tooling, not in the wheel
from devtools.provision import REQUIRE_ALL, provision, require_all
from devtools.pythons import available_pythons

ROOT = Path(__file__).resolve().parent

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

PYTHONS = available_pythons(["3.10", "3.11", "3.12", "3.13"])
DEFAULT_PYTHON = "3.11" if "3.11" in PYTHONS else PYTHONS[-1]
PG_MAJORS = ["14", "15", "16", "17", "18"]
# tests wait on subprocesses and the server more than on the CPU: two workers keep CI under 20 minutes
PARALLEL = ["-n", "2", "--dist", "loadfile"]

# one local-backend run per Python, then one container run per Postgres major
MATRIX = [
    *(nox.param(py, "local", None, id=f"python={py}", tags=["python"]) for py in PYTHONS),
    # an existing server given by URL, as a team's shared CI database would be: each test makes its own database
    nox.param(DEFAULT_PYTHON, "url", None, id="backend=url", tags=["python"]),
    *(nox.param(DEFAULT_PYTHON, "docker", pg, id=f"pg={pg}", tags=["containers"]) for pg in PG_MAJORS),
]


def install_project(session: nox.Session, *extra: str) -> None:
    """Install the project, and let Python cache compiled modules as it does on a user's machine.

    Without the cache every `inv` the tests and benchmarks start compiles invoke, psycopg,
    rich and the package from source again: a machine with PYTHONDONTWRITEBYTECODE set
    made each start about twice as slow, and the benchmarks measured that, not drizzle-ops.
    uv does not compile at install unless asked.
    """
    session.env["PYTHONDONTWRITEBYTECODE"] = ""  # empty is unset, for Python
    session.install("-e", ".", *extra, env={"UV_COMPILE_BYTECODE": "1"})


def provide_node_packages(session: nox.Session) -> None:
    """`npm ci` in the example workspaces without node_modules: the drizzle-kit tests need them."""
    problems = provision(ROOT).problems
    if problems and require_all():
        session.error(f"{REQUIRE_ALL} is set and the drizzle-kit tests cannot run: {'; '.join(problems)}")


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting; import-linter: no layer imports a higher one (docs/architecture.md)."""
    # pinned: a new release's new rules should not turn CI red overnight
    session.install("ruff==0.17.6", "import-linter==2.16")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", env={"PYTHONPATH": "src"})  # reads the package's imports; nothing is installed


@nox.session(python=DEFAULT_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    install_project(session, "mypy")
    session.run("mypy")


@nox.session
@nox.parametrize(("python", "backend", "pg"), MATRIX)
def tests(session: nox.Session, backend: str, pg: str | None) -> None:
    """pytest against a disposable server: local (per Python), an existing one by URL, or a container (per major)."""
    # squawk: the lint parity tests compare with it; xdist: two workers, each with its own server
    install_project(session, "pytest", "pytest-xdist", "squawk-cli==2.70.0")
    provide_node_packages(session)
    env = {"DRIZZLE_OPS_TEST_BACKEND": backend}
    if pg:
        env["DRIZZLE_OPS_TEST_PG"] = pg
    paths = session.posargs or [*test_paths(backend, session.python, pg), *PARALLEL]
    if backend != "url":
        session.run("pytest", *paths, env=env)
        return
    # the "existing server" is started with our own `inv db.up`, in a state folder of this session's
    state = {"INVOKE_DRIZZLE_OPS_STATE_DIR": os.path.join(session.create_tmp(), "server")}
    session.run("inv", "db.up", "--provider", "local", env=state)
    try:
        url = str(session.run("inv", "db.url", "--reveal", env=state, silent=True)).strip()
        session.run("pytest", *paths, env={**env, "DRIZZLE_OPS_TEST_URL": url})
    finally:
        session.run("inv", "db.down", env=state)


# oldest and newest supported majors run the whole integration suite in a container
FULL_MAJORS = ("14", "18")
# what depends on the server's major: the catalog as conformance reads it, locks, error codes, drizzle-kit's rows
# (the real-world histories run drizzle-kit per case: on 14, 18 and the local 15 only, for CI's time)
PER_MAJOR = [
    "test_migrate.py",
    "test_verify_conformance.py",
    "test_difference_kinds.py",
    "test_storage_rules.py",
    "test_rollback.py",
    "test_error_causes.py",
    "test_non_transactional.py",
    "test_lock_timeouts.py",
    "test_container_hygiene.py",
]
# an existing server reached by URL: what differs is only how the server is found and shared
BY_URL = ["test_migrate.py", "test_verify.py", "test_rollback.py", "test_interop.py", "test_drift.py"]


def test_paths(backend: str, python: object, pg: str | None = None) -> list[str]:
    """What each matrix cell runs, to stay inside CI's time budget without losing coverage.

    The default Python: everything, against the local server. Other Pythons: the
    unit tests and the core migrate path end to end (the rest is the same code).
    Containers: the whole integration suite on the oldest and newest majors, and on
    the others the files whose outcome depends on the major. An existing server
    by URL: the core tasks.
    """
    if backend == "docker":
        if pg in FULL_MAJORS:
            return ["tests/integration"]
        return [f"tests/integration/{name}" for name in PER_MAJOR]
    if backend == "url":
        return [f"tests/integration/{name}" for name in BY_URL]
    if python == DEFAULT_PYTHON:
        return ["tests/unit", "tests/integration"]
    return ["tests/unit", "tests/integration/test_migrate.py"]


@nox.session(python=DEFAULT_PYTHON)
def reliability(session: nox.Session) -> None:
    """Nothing is lost: concurrent runners, SIGKILL at random points, a bad-input corpus (local server)."""
    install_project(session, "pytest")
    provide_node_packages(session)
    session.run("pytest", *(session.posargs or ["tests/reliability"]), env={"DRIZZLE_OPS_TEST_BACKEND": "local"})


@nox.session(python=DEFAULT_PYTHON)
def mutation(session: nox.Session) -> None:
    """Each kind of difference verify reports is caught: silenced in a scratch copy, its test must fail (~1 min)."""
    install_project(session, "pytest")
    session.run("python", "-m", "tests.mutation.check", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def importtime(session: nox.Session) -> None:
    """Start-up budget: what `status` and a no-op `migrate` import beyond psycopg and invoke, and how long (~20 s)."""
    install_project(session)
    session.run("python", "-m", "devtools.importtime", *session.posargs, env={"PYTHONPATH": os.getcwd()})


@nox.session(python=DEFAULT_PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against baselines measured in the same run; writes benchmarks/results.md (not run by default)."""
    install_project(session, "pyinstrument")  # the report includes where inv's time goes
    session.run("python", "-m", "benchmarks.run", *session.posargs, env={"PYTHONPATH": os.getcwd()})
