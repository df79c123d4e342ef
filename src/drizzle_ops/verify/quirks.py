"""Known drizzle-kit snapshot quirks: differences that are real, explained where they are reported.

drizzle-kit 0.31 writes a string default on a json/jsonb column, `jsonb("mode").default("none")`,
as `'none'` into the snapshot and into the SQL. That is not JSON, so the SQL fails with
22P02 (invalid input syntax for type json) and teams hand-fix it to `'"none"'::jsonb`.
The database then holds the JSON string while the snapshot keeps the quirk.
"""

from __future__ import annotations

import json
import re

from drizzle_ops.verify.expressions import loose

_LITERAL = re.compile(r"^'((?:[^']|'')*)'$")


def jsonb_string_default(expected: str, actual: str, type_: str) -> str | None:
    """The note for a json/jsonb string default the snapshot keeps unquoted, or None when this is not that case."""
    if type_ not in ("json", "jsonb"):
        return None
    match = _LITERAL.match(expected.strip())
    if match is None:
        return None
    text = match.group(1).replace("''", "'")
    try:
        json.loads(text)
        return None  # valid JSON: not the quirk
    except ValueError:
        pass
    fixed = "'" + json.dumps(text, ensure_ascii=False).replace("'", "''") + f"'::{type_}"
    if loose(actual) != loose(fixed):
        return None
    return (
        f"a known drizzle-kit 0.31 snapshot quirk: it writes a {type_} string default as {expected}, "
        f"which is not JSON, while the JSON string is {fixed}; if the migration's SQL says {fixed}, "
        "accept this difference"
    )
