"""The edge: invoke tasks (flags and help), the `drizzle-ops` program, and one module per task that builds
the request context, calls its command, renders the outcome (table, JSON, JUnit) and maps it to an exit code."""
