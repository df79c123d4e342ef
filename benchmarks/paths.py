"""Where the benchmarks find the repository and the example workspace they measure."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_REL = "examples/wishlist/packages/backend/database-schema"
EXAMPLE = ROOT / EXAMPLE_REL
