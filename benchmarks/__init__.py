"""Benchmarks for drizzle-ops: every figure is a ratio against a baseline measured in the same run.

Run them with `nox -s bench` (or `python -m benchmarks.run` from the repository root); see benchmarks/run.py
for the flags and benchmarks/cases/ for the cases, one module each.
"""
