"""The benchmark suite: `nox -s bench`, or `python -m benchmarks.run [--quick] [--out PATH] [--cases ...]`.

One throwaway PostgreSQL server (LocalProvider: initdb + pg_ctl) serves every case; each run gets
its own database, created before the run and never timed. Whole processes (`inv`, `npx drizzle-kit`,
`node .../bin.cjs`, `psql`) are timed over a warm-up and repeated runs; each figure is compared with
a baseline measured in the same run. The report goes to benchmarks/results.md (full mode) or, in
quick mode, to a file in the temporary folder unless --out says otherwise, so a CI run never
overwrites the committed report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import harness
from benchmarks.cases import CASES
from benchmarks.harness import Bench, log
from benchmarks.paths import ROOT
from benchmarks.report import CaseResult, RunInfo, render
from benchmarks.runinfo import commit_info, machine_info, method_lines, setup_lines

DEFAULT_OUT = ROOT / "benchmarks" / "results.md"
QUICK_OUT = Path(tempfile.gettempdir()) / "drizzle-ops-bench-quick.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmarks against baselines measured in the same run; writes a Markdown report.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs, scale and history cases up to 100 migrations (CI: keeps the harness alive)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"report path (default: {DEFAULT_OUT.relative_to(ROOT)} for a full run of every case, else {QUICK_OUT})",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of {','.join(CASES)} (default: all)",
    )
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command (default 7, quick 3)")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument profiles")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.runs is not None and args.runs < (1 if args.quick else 5):
        parser.error("--runs must be at least 5 in a full run (1 with --quick)")
    return args


def run_case(bench: Bench, key: str) -> CaseResult:
    """One case, timed; a case that fails is recorded as such: one broken case must not hide the others."""
    log(f"[{key}]")
    began = time.perf_counter()
    try:
        result = CASES[key].run(bench)
    except Exception as exc:
        message = bench.redact(f"{type(exc).__name__}: {exc}")
        log(f"  FAILED: {message}")
        log(bench.redact(traceback.format_exc()))
        return CaseResult(key, CASES[key].TITLE, "", skipped=f"the case failed in this run: {message}")
    result.seconds = time.perf_counter() - began
    log(f"  ({result.seconds:.0f} s)")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = harness.options_for(args.quick, args.runs, args.no_profile)
    # only a full run of every case replaces the committed report unless --out says otherwise
    partial = args.quick or set(args.cases) != set(CASES)
    out = args.out or (QUICK_OUT if partial else DEFAULT_OUT)
    command = "python -m benchmarks.run" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    began = time.perf_counter()
    started_at = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    log(f"benchmarks ({'quick' if args.quick else 'full'}): starting a throwaway PostgreSQL server …")
    with harness.session(options) as bench:
        results = [run_case(bench, key) for key in args.cases]
        info = RunInfo(
            mode="quick" if args.quick else "full",
            started=started_at,
            seconds=time.perf_counter() - began,
            commit=commit_info(),
            command=command,
            machine=machine_info(bench),
            method=method_lines(options),
            setup=setup_lines(args.quick),
        )
    info.seconds = time.perf_counter() - began
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(info, results))
    log(f"report written to {out} ({info.seconds:.0f} s)")
    failed = [r.key for r in results if r.skipped]
    if failed:
        log(f"failed cases: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
