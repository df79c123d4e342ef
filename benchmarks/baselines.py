"""The baselines our figures are compared with: drizzle-kit's `migrate` and the psql floor.

The floor is psql running every migration of a workspace from one file in one transaction: no
bookkeeping, no checks, one round trip per statement.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.paths import EXAMPLE_REL, ROOT
from benchmarks.timing import ProcessSpec

if TYPE_CHECKING:  # harness imports this module: the type alone, to avoid an import cycle
    from benchmarks.harness import Bench

DRIZZLE_MISSING = (
    "drizzle-kit baselines not measured: run `npm ci --no-audit --no-fund` in "
    f"`{EXAMPLE_REL}` (needs node and npx on PATH)"
)


def drizzle_spec(bench: Bench, name: str, how: str, url: str, workspace: Path, **hooks: Any) -> ProcessSpec:
    """how: 'npx' (`npx drizzle-kit migrate`, what users type) or 'node' (the CLI's file, no npx)."""
    assert bench.npx and bench.node
    argv = (
        [bench.npx, "drizzle-kit", "migrate"]
        if how == "npx"
        else [bench.node, "node_modules/drizzle-kit/bin.cjs", "migrate"]
    )
    return ProcessSpec(
        name,
        argv,
        bench.show([Path(argv[0]).name, *argv[1:]], url, {"DATABASE_URL": url}),
        cwd=workspace,
        cwd_label=bench.rel(workspace),
        env={**os.environ, "DATABASE_URL": url},
        **hooks,
    )


def psql_spec(bench: Bench, name: str, url: str, sql_file: Path, **hooks: Any) -> ProcessSpec:
    assert bench.psql
    argv = [bench.psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(sql_file)]
    return ProcessSpec(name, argv, bench.show(["psql", *argv[1:]], url), cwd=ROOT, env=dict(os.environ), **hooks)


def concatenate(workspace: Path, out: Path) -> Path:
    """Every migration of the journal, in order, in one file: what psql -1 -f runs as the floor."""
    journal = json.loads((workspace / "drizzle" / "meta" / "_journal.json").read_text())
    parts = [(workspace / "drizzle" / f"{e['tag']}.sql").read_text() for e in journal["entries"]]
    out.write_text("\n".join(parts) + "\n")
    return out


def concat_line(workspace_shown: str, out_shown: str) -> str:
    """The shell line that does what ``concatenate`` does, for the report's reproduce section."""
    return f'for f in {workspace_shown}/drizzle/0*.sql; do cat "$f"; echo; done > {out_shown}'
