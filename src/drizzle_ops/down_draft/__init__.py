"""Down migrations drafted from two drizzle-kit snapshots; see draft.py for the order and the REVIEW notes."""

from drizzle_ops.down_draft.draft import (
    BREAKPOINT,
    DRAFT_MARKER,
    GENERATE,
    ROLLBACK_DRAFT,
    Draft,
    draft_down,
    is_draft,
    nothing_to_undo,
    stub_down,
)

__all__ = [
    "BREAKPOINT",
    "DRAFT_MARKER",
    "GENERATE",
    "ROLLBACK_DRAFT",
    "Draft",
    "draft_down",
    "is_draft",
    "nothing_to_undo",
    "stub_down",
]
