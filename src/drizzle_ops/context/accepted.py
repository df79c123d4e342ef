"""The reviewed file of accepted conformance differences, as the commands that honour it read it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drizzle_ops.context.config import Settings
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    from drizzle_ops.verify.accepted import AcceptedFile


def accepted_file(settings: Settings) -> AcceptedFile:
    """The file (none accepted when it is absent); read before connecting, so a bad file is bad input."""
    from drizzle_ops.verify.accepted import load

    path = settings.accepted_differences
    return load(path, display_path(path, settings.project_root))
