"""The committed DDL is what the sqlmodel table declarations (tools/storage_tables.py) generate."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from shim.storage import log

TABLES = Path(__file__).resolve().parents[2] / "tools" / "storage_tables.py"


def _tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("storage_tables", TABLES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_sql_matches_the_sqlmodel_declarations() -> None:
    assert log.SCHEMA.read_text() == _tables().ddl()
