"""SQLite tables: an append-only revision log and the current state, as in kine.

The log's row id is the resourceVersion (one global sequence, like an etcd revision). The current table
holds the newest state of every live object so start-up does not replay the whole log.
"""
from __future__ import annotations

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
