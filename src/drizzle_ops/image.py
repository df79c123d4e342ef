"""Whether drizzle-ops runs in its own container image (the Dockerfile sets DRIZZLE_OPS_IMAGE).

That image has Python and drizzle-ops only: no Node for `generate`, no PostgreSQL server for the
embedded default. Where those are missing, the advice differs from a developer's machine.
"""

from __future__ import annotations

import os

IN_IMAGE_ENV = "DRIZZLE_OPS_IMAGE"


def in_image() -> bool:
    return bool(os.environ.get(IN_IMAGE_ENV))
