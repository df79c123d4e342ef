import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.disposable.base import Server
from tests.conftest import Databases
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, drizzle_kit_migrate, require, url_for


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def drizzle_kit_template(admin: psycopg.Connection, pg_server: Server) -> Iterator[str]:
    """A database the real drizzle-kit's own migrate made of the example workspace, once per session (and
    worker): the same files give the same result, so tests clone it instead of running drizzle-kit again."""
    require((EXAMPLE / "node_modules" / ".bin" / "drizzle-kit").exists(), NO_DRIZZLE_KIT)
    name = f"dk_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        drizzle_kit_migrate(url_for(pg_server.url, name))
        yield name
    finally:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def drizzle_kit_db(databases: Databases, drizzle_kit_template: str) -> str:
    """URL of a fresh database holding what drizzle-kit's own migrate made of the example (a clone)."""
    return databases.create(template=drizzle_kit_template)
