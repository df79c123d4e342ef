"""The rule reference page, docs/lint-rules.md, rendered from the rules themselves.

Regenerate it with ``python -m drizzle_ops.lint.docs > docs/lint-rules.md``; a test
fails when the page and the rules disagree.
"""

from __future__ import annotations

from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.fix.catalogue import FIXES, NO_FIX
from drizzle_ops.lint.linter import NO_TRANSACTION_MARKER
from drizzle_ops.lint.rules import ALL_RULES
from drizzle_ops.lint.version import DEFAULT_PG_VERSION

_INTRO = f"""\
# Lint rules

`inv lint` parses each migration with pglast (libpg_query, the Postgres parser) and
checks every statement against the rules below. Rule ids are squawk's where squawk
has the same rule; `tests/unit/lint/test_squawk_parity.py` runs squawk 2.70.0 and
drizzle-ops over the same corpus and checks that they agree, except where a rule's
"Differences from squawk" says otherwise.

- **error**: the migration cannot succeed on a populated table, breaks clients that
  run during the deploy, or destroys data. `inv lint` exits 1.
- **warning**: a lock whose cost grows with the table's size or traffic: fine on a
  small table, an outage on a large one. Reported; `--fail-on warning` makes CI fail.

A rule about locks skips tables created earlier in the same migration: they are
empty and invisible to other sessions until the migration commits.

Each migration runs in one transaction. A migration whose first line is
`{NO_TRANSACTION_MARKER}`, or that holds `CONCURRENTLY` (detected by the
runner), runs statement by statement instead; the lint assumes the same. Inside a
file, COMMIT or ROLLBACK ends the current transaction (its locks are released), the
statements after it run on their own until the next BEGIN, and a BEGIN inside the
migration's own transaction changes nothing. Rules that ask "earlier in the same
transaction" (constraint-missing-not-valid, adding-enum-value) follow exactly that.
An UPDATE or DELETE after the line `-- drizzle-ops: batch rows=N` runs in batches by
primary key, each its own transaction; require-resumable-batch checks that it can.

What is safe depends on the PostgreSQL major: the lint judges for {DEFAULT_PG_VERSION}, the
oldest supported, unless told another (`lint_sql(…, pg_version=16)`), and a finding
whose verdict depends on it ends with "judged for PostgreSQL N". Connected to a
database, function volatility (adding-field-with-default) comes from its catalogue.

Silence a rule on one statement with a comment on the line above it, or after it
on the same line, and say why in parentheses or after `--`:

```sql
-- lint: ignore ban-drop-column (unused since release 42)
ALTER TABLE "users" DROP COLUMN "avatar_url";
CREATE INDEX "t_a_idx" ON "t" ("a"); -- lint: ignore require-concurrent-index-creation -- t has 10 rows
```

An ignore naming an unknown rule is reported as `invalid-ignore` (a warning).

`inv lint --fix` rewrites what it can into the safe version, in migrations no database
has applied yet (README, "Safe by default"); each rule below says what it does with
that rule's findings, or why it leaves them.
"""


def rules_markdown() -> str:
    parts = [_INTRO]
    parts.append("| rule | level | squawk |\n|---|---|---|")
    for rule in ALL_RULES:
        parts.append(f"| [`{rule.id}`](#{rule.id}) | {rule.severity.value} | {rule.squawk or 'no such rule'} |")
    parts.append("")
    for rule in ALL_RULES:
        parts.append(f"## {rule.id}\n")
        parts.append(f"**{rule.severity.value}** · {rule.summary}\n")
        parts.append(f"### Problem\n\n{rule.problem}\n")
        parts.append(f"### Safe alternative\n\n{rule.fix}\n")
        parts.append(f"Flagged:\n\n```sql\n{rule.bad}\n```\n")
        parts.append(f"Instead:\n\n```sql\n{rule.good}\n```\n")
        if rule.id in FIXES:
            parts.append(f"### `lint --fix`\n\n{FIXES[rule.id]}\n")
        else:
            parts.append(f"### `lint --fix`\n\nLeaves it: {NO_FIX[rule.id]}.\n")
        items = "\n".join(f"- {text}" for text in rule.squawk_differences)
        if rule.squawk is None:
            parts.append(f"### squawk\n\nThis id is ours.\n\n{items}\n")
        elif items:
            parts.append(f"### Differences from squawk\n\n{items}\n")
    levels = {s: sum(r.severity is s for r in ALL_RULES) for s in Severity}
    parts.append(f"---\n{len(ALL_RULES)} rules: {levels[Severity.ERROR]} errors, {levels[Severity.WARNING]} warnings.")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(rules_markdown(), end="")
