"""kubeshim's SQLite tables declared in sqlmodel: an append-only revision log and the current state, as in kine.

A development tool, not part of the package: the server executes the DDL these declarations generate,
committed as shim/storage/schema.sql (regenerate with `python tools/storage_tables.py > shim/storage/schema.sql`),
and tests/unit checks the two agree. sqlmodel is a dev/test dependency only.

The log's row id is the resourceVersion (one global sequence, like an etcd revision). The current table
holds the newest state of every live object so start-up does not replay the whole log.
"""
from __future__ import annotations

import sys

from sqlmodel import Field, SQLModel


class Revision(SQLModel, table=True):
    """One write: the object as it was after the event (DELETED carries the last state)."""

    __tablename__ = "revision_log"

    id: int = Field(primary_key=True)
    resource: str = Field(index=False)
    namespace: str
    name: str
    event: str
    object: bytes


class Current(SQLModel, table=True):
    """The newest state of each live object."""

    __tablename__ = "current_state"

    resource: str = Field(primary_key=True)
    namespace: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    revision: int
    object: bytes


class Setting(SQLModel, table=True):
    """Small facts about the store itself, e.g. the newest compacted revision."""

    __tablename__ = "store_setting"

    key: str = Field(primary_key=True)
    value: str


def ddl() -> str:
    """The CREATE TABLE statements of the tables above, as SQLite gets them.

    Committed as shim/storage/schema.sql and executed from there: importing sqlmodel (and SQLAlchemy,
    pydantic) costs ~0.5 s and 17 MB, too much for a server that needs the DDL once.
    """
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    statements = []
    for model in (Revision, Current, Setting):
        table = SQLModel.metadata.tables[str(model.__tablename__)]
        create = str(CreateTable(table, if_not_exists=True).compile(dialect=sqlite.dialect())).strip()
        statements.append(create + ";")
        statements += [str(CreateIndex(index, if_not_exists=True).compile(dialect=sqlite.dialect())) + ";"
                       for index in sorted(table.indexes, key=lambda i: i.name or "")]
    return "\n\n".join(statements) + "\n"


if __name__ == "__main__":
    sys.stdout.write(ddl())
