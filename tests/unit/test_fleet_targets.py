"""Fleets without a database: config validation, parsing the URLs, labels, the stable order, --shard and --only."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from drizzle_ops.context.config import Settings
from drizzle_ops.context.fleet.build import Fleet, Shard, build_fleet, in_shard, only_labels, split_labels
from drizzle_ops.context.fleet.targets import FleetTarget, fleet_targets, label_of, natural_key, split_urls
from drizzle_ops.context.request import Request
from drizzle_ops.context.resolve import FleetFlags, Where, resolve
from drizzle_ops.context.target import Target
from drizzle_ops.errors import UserError
from tests.helpers import EXAMPLE

PASSWORD = "Sentinel-Pw-991"


def settings(tmp_path: Path = Path("/project"), **tenants: object) -> Settings:
    spec = {"targets_env": "TENANT_URLS", **tenants}
    return Settings.from_mapping(
        {"workspace": str(EXAMPLE), "environments": {"tenants": spec, "staging": {"url_env": "STAGING_URL"}}},
        tmp_path,
    )


def urls(*names: str, password: str = PASSWORD) -> str:
    return "\n".join(f"postgresql://app:{password}@db.internal:5433/{name}" for name in names)


# -- invoke.yaml -------------------------------------------------------------------------------------------


def test_a_fleet_environment_has_its_defaults() -> None:
    fleet = settings().environment("tenants").fleet
    assert fleet is not None and (fleet.parallel, fleet.canary) == (4, 1)
    assert not settings().environment("staging").is_fleet


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"targets_file": "t.txt"}, "choose one of targets_env, targets_file, not several"),
        ({"parallel": 0}, "parallel must be a whole number ≥ 1, not 0"),
        ({"parallel": "many"}, "parallel must be a whole number ≥ 1, not 'many'"),
        ({"parallel": True}, "parallel must be a whole number ≥ 1, not True"),
        ({"canary": -1}, "canary must be a whole number ≥ 0, not -1"),
        ({"url_env": "X"}, "url_env is only for targets_query"),
        ({"targets_env": None, "targets_query": "select 1"}, "targets_query needs url_env"),
        ({"targets_env": None, "parallel": 8}, "parallel apply only to a fleet"),
    ],
)
def test_each_config_mistake_is_one_clear_line(spec: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as raised:
        settings(**spec)
    assert message in raised.value.message and raised.value.exit_code == 2
    assert "\n" not in raised.value.message


def test_canary_zero_is_allowed_and_a_file_is_relative_to_the_project(tmp_path: Path) -> None:
    fleet = settings(tmp_path, targets_env=None, targets_file="fleet/urls.txt", canary=0).environment("tenants").fleet
    assert fleet is not None and fleet.canary == 0 and fleet.targets_file == tmp_path / "fleet" / "urls.txt"


def test_where_a_run_goes_is_decided_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANT_URLS", urls("a"))
    monkeypatch.setenv("STAGING_URL", "postgresql://h/staging")
    with pytest.raises(UserError, match="tenants is a fleet of databases: only migrate, status and verify"):
        resolve(settings(), Where(env="tenants"))  # a task that runs on one database only
    # --url still names one database, with the environment's policy
    one = resolve(settings(), Where(url="postgresql://h/db", env="tenants"), fleet=FleetFlags())
    assert isinstance(one, Request) and one.target.source == "--url" and one.target.environment is not None
    assert isinstance(resolve(settings(), Where(env="tenants"), fleet=FleetFlags()), Fleet)
    assert isinstance(resolve(settings(), Where(env="staging"), fleet=FleetFlags()), Request)
    with pytest.raises(UserError, match="--shard works only with --env naming a fleet .*; environment staging is one"):
        resolve(settings(), Where(env="staging"), fleet=FleetFlags(shard=Shard(1, 2)))
    with pytest.raises(UserError, match="--dry-run cannot be used on a fleet \\(environment tenants\\)"):
        resolve(settings(), Where(env="tenants"), fleet=FleetFlags(), not_on_fleet=["--dry-run"])


# -- targets -----------------------------------------------------------------------------------------------


def test_urls_one_a_line_or_whitespace_separated_comments_skipped() -> None:
    text = "# tenants\npostgresql://h/a postgresql://h/b\n\n  postgresql://h/c\t\n  # old: postgresql://h/z\n"
    assert split_urls(text) == ["postgresql://h/a", "postgresql://h/b", "postgresql://h/c"]


def test_a_label_is_host_port_and_database_never_the_password() -> None:
    assert label_of(f"postgresql://app:{PASSWORD}@db.internal:5433/t1?sslmode=require") == "db.internal:5433/t1"
    assert label_of("postgresql://h/t2") == "h:5432/t2"


def test_the_order_is_natural_and_independent_of_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"tenant{i}" for i in range(1, 13)]
    shuffled = names[:]
    random.Random(7).shuffle(shuffled)
    monkeypatch.setenv("TENANT_URLS", urls(*shuffled))
    found = fleet_targets(settings(), settings().environment("tenants"))
    assert [t.label.rsplit("/", 1)[1] for t in found] == names  # tenant2 before tenant10
    assert all(PASSWORD not in t.label and t.target.source == "$TENANT_URLS" for t in found)
    assert natural_key("h:1/db2") < natural_key("h:1/db10")


def test_bad_entries_are_named_without_their_url(monkeypatch: pytest.MonkeyPatch) -> None:
    env = settings().environment("tenants")
    monkeypatch.setenv("TENANT_URLS", urls("a") + f"\nmysql://root:{PASSWORD}@h/b")
    with pytest.raises(UserError) as raised:
        fleet_targets(settings(), env)
    assert "$TENANT_URLS (entry 2) is not a postgresql:// URL" in raised.value.message
    assert PASSWORD not in raised.value.message
    monkeypatch.setenv("TENANT_URLS", urls("a", "b", "a"))
    with pytest.raises(UserError, match=r"lists db.internal:5433/a twice \(entry 3\)"):
        fleet_targets(settings(), env)
    monkeypatch.setenv("TENANT_URLS", "  \n# nothing\n")
    with pytest.raises(UserError, match=r"\$TENANT_URLS holds no database URL"):
        fleet_targets(settings(), env)
    monkeypatch.delenv("TENANT_URLS")
    with pytest.raises(UserError, match=r"reads its targets from \$TENANT_URLS, which is not set"):
        fleet_targets(settings(), env)


def test_a_targets_file(tmp_path: Path) -> None:
    (tmp_path / "urls.txt").write_text(urls("b", "a"))
    s = settings(tmp_path, targets_env=None, targets_file="urls.txt")
    assert [t.label for t in fleet_targets(s, s.environment("tenants"))] == ["db.internal:5433/a", "db.internal:5433/b"]
    s = settings(tmp_path, targets_env=None, targets_file="missing.txt")
    with pytest.raises(UserError, match="cannot read targets_file"):
        fleet_targets(s, s.environment("tenants"))


# -- --shard and --only ------------------------------------------------------------------------------------


def members(count: int) -> list[FleetTarget]:
    return [FleetTarget(f"h:5432/t{i}", Target(f"postgresql://h/t{i}", "test")) for i in range(count)]


@pytest.mark.parametrize("count", [0, 1, 5, 40, 203])
@pytest.mark.parametrize("shards", [1, 2, 3, 4, 7, 50])
def test_shards_cover_every_target_exactly_once_and_evenly(count: int, shards: int) -> None:
    fleet = members(count)
    picked = [in_shard(fleet, Shard(k, shards)) for k in range(1, shards + 1)]
    labels = [m.label for shard in picked for m in shard]
    assert sorted(labels) == sorted(m.label for m in fleet) and len(labels) == len(set(labels))
    sizes = [len(shard) for shard in picked]
    assert max(sizes) - min(sizes) <= 1
    assert in_shard(fleet, Shard(1, shards)) == picked[0]  # the same every time


def test_only_keeps_the_fleet_order_and_refuses_an_unknown_label() -> None:
    fleet = members(5)
    assert split_labels(["h:5432/t3,h:5432/t1", " h:5432/t3 "]) == ("h:5432/t3", "h:5432/t1")
    assert [m.label for m in only_labels(fleet, ["h:5432/t3", "h:5432/t1"])] == ["h:5432/t1", "h:5432/t3"]
    with pytest.raises(UserError, match="no target labelled h:5432/nope"):
        only_labels(fleet, ["h:5432/t1", "h:5432/nope"])


def test_build_fleet_selects_and_shares_one_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANT_URLS", urls(*(f"t{i}" for i in range(10))))
    tenants = settings().environment("tenants")
    fleet = build_fleet(settings(), environment=tenants, shard=Shard(2, 3))
    assert [t.label[-2:] for t in fleet.targets] == ["t1", "t4", "t7"] and fleet.size == 10
    one = fleet.request_for(fleet.targets[0])
    assert one.target.url is not None and one.workspace is fleet.request.workspace and one.yes and one.ask is None
    with pytest.raises(UserError, match="--shard and --only: use one"):
        build_fleet(settings(), environment=tenants, shard=Shard(1, 2), only="db.internal:5433/t1")
