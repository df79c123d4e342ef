"""One module per task: a plain function that takes the request context and returns an outcome. No printing.

Each module imports only what its task runs: `inv migrate` should not pay for the SQL parser,
the snapshot comparison or the down-draft writer (see benchmarks/results.md).
"""
