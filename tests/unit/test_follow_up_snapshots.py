"""The snapshot edits of lint --fix's follow-up migrations, against what real drizzle-kit writes.

tests/fixtures/safe-by-default/drizzle-v1 holds the snapshot drizzle-kit 1.0.0-rc.5 wrote when `posts.title`
became `.notNull()`: the NOT NULL migration's snapshot must get exactly that delta and footprint.
"""

from __future__ import annotations

import json

from drizzle_ops.drizzle_kit.follow_ups import set_not_null_delta
from tests.helpers import ROOT

TITLE_NOT_NULL = (
    ROOT / "tests/fixtures/safe-by-default/drizzle-v1/drizzle/20261207121438_posts_title_not_null/snapshot.json"
)


def test_the_not_null_delta_and_footprint_are_the_ones_drizzle_kit_writes() -> None:
    written = json.loads(TITLE_NOT_NULL.read_text())
    custom = {key: written[key] for key in ("type", "version", "dialect", "id", "prevIds")}
    custom |= {"footprints": [], "deltas": []}  # what `drizzle-kit generate --custom` writes
    set_not_null_delta(custom, ("public", "posts", "title"))
    assert custom == written


def test_a_table_outside_public_is_named_with_its_schema() -> None:
    snapshot: dict[str, object] = {}
    set_not_null_delta(snapshot, ("sales", "orders", "ref"))
    assert snapshot["deltas"] == [
        {"op": "alter", "key": 'columns\x00["sales","orders","ref"]', "set": {"notNull": True}}
    ]
    [footprint] = snapshot["footprints"]  # type: ignore[misc]
    assert footprint["writes"] == ["s|colprop|sales.orders.ref.notNull"]
    assert footprint["reads"] == ["n|tbl|sales.orders", "n|sch|sales", "n|col|sales.orders.ref"]
