"""`python -m drizzle_ops` is the `drizzle-ops` program."""

from drizzle_ops.cli.program import main

main()
