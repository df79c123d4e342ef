"""Disposable PostgreSQL servers: a provider interface and its docker and local providers."""
