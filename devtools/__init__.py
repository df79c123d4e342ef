"""Helpers for the project's own tooling (noxfile, benchmarks); not used by the tasks."""
