"""Verification: the snapshot conformance check, and running a database's own checks read-only."""
