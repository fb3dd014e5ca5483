"""The committed DDL is what the sqlmodel table declarations generate."""
from __future__ import annotations

from shim.storage import log, tables


def test_schema_sql_matches_the_sqlmodel_declarations() -> None:
    assert log.SCHEMA.read_text() == tables.ddl()
