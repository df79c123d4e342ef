"""drizzle-ops: run the migrations of a Drizzle ORM workspace safely on PostgreSQL."""

__version__ = "0.1.0"
