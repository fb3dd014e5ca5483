"""Paging a list: at most `limit` items, and a continue token to resume after the last one.

The token carries the page's revision (upstream's shape: base64 of {"v", "rv", "start"}), so every later
page shows the same snapshot as the first, as etcd's MVCC reads do.
"""
from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import Iterator

import orjson

from shim.storage.model import Entry, Key, TooOld


class InvalidContinue(ValueError):
    """A continue token that does not decode."""


class ContinueTooOld(TooOld):
    """A continue token whose revision left the window: the list has to start over."""

    def __str__(self) -> str:
        return ("The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter.")


@dataclass
class Page:
    items: list[Entry]
    revision: int
    #: where the next page starts; empty on the last page
    continue_token: str = ""
    #: how many items the later pages hold, when counting them was cheap (nothing filtered)
    remaining: int | None = None


def encode_continue(revision: int, key: Key) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": f"{key[0]}/{key[1]}"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, Key]:
    """The revision and the last key of the page that gave `token`; InvalidContinue if it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        revision = int(data["rv"])
        namespace, slash, name = str(data["start"]).partition("/")
        if not slash or not isinstance(data, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError, UnicodeDecodeError):
        raise InvalidContinue(token) from None
    return revision, (namespace, name)


def paginate(items: Iterator[tuple[str, str, Entry]], revision: int, limit: int, count_rest: bool) -> Page:
    """The first `limit` of `items` (all when 0) and, if more follow, the token for them; `count_rest` also
    counts those (it reads them all)."""
    if not limit:
        return Page([entry for _, _, entry in items], revision)
    page = list(itertools.islice(items, limit))
    if next(items, None) is None:
        return Page([entry for _, _, entry in page], revision)
    namespace, name, _ = page[-1]
    remaining = 1 + sum(1 for _ in items) if count_rest else None
    return Page([entry for _, _, entry in page], revision, encode_continue(revision, (namespace, name)), remaining)
