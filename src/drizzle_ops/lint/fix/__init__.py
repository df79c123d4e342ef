"""`lint --fix`: rewrite the flagged statements of migrations no database has applied into their safe versions.

    from drizzle_ops.lint import analyse_migrations
    from drizzle_ops.lint.fix import fix_analysis
    [analysis] = analyse_migrations([("0008_sets_idx.sql", text)])
    fixed = fix_analysis(analysis)
    print(fixed.diff())

Which migrations may be fixed (none that a database applied) is the caller's question: commands/lint_fix.py.
"""

from __future__ import annotations

from drizzle_ops.lint.fix.catalogue import FIXES, NO_FIX, why_not
from drizzle_ops.lint.fix.fixer import Change, FileFix, Unfixed, fix_analysis
from drizzle_ops.lint.fix.follow_ups import FollowUp

__all__ = ["FIXES", "NO_FIX", "Change", "FileFix", "FollowUp", "Unfixed", "fix_analysis", "why_not"]
