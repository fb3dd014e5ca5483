"""Paging a list: at most `limit` items, and a continue token to resume after the last one.

The token carries the page's revision (upstream's shape: base64 of {"v", "rv", "start"}), so every later
page shows the same snapshot as the first, as etcd's MVCC reads do. A token whose revision was compacted away
is refused with a second, inconsistent token: revision -1, "continue from this key at the newest revision".
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


#: the revision of an inconsistent continue token: the rest of the list as it is now
LATEST = -1


class ContinueTooOld(TooOld):
    """A continue token whose revision was compacted away. `inconsistent` continues after the same key at the
    newest revision, for a client that accepts objects changed since the first page (upstream offers it too)."""

    def __init__(self, asked: int, oldest: int, after: Key) -> None:
        super().__init__(asked, oldest)
        self.inconsistent = encode_continue(LATEST, after)

    def __str__(self) -> str:
        return ("The provided continue parameter is too old to display a consistent list result. You can start a "
                "new list without the continue parameter, or use the continue token in this response to retrieve "
                "the remainder of the results. Continuing with the provided token results in an inconsistent "
                "list - objects that were created, modified, or deleted between the time the first chunk was "
                "returned and now may show up in the list.")


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
    """The revision (LATEST for an inconsistent token) and the last key of the page that gave `token`;
    InvalidContinue if it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        revision = int(data["rv"])
        namespace, slash, name = str(data["start"]).partition("/")
        if not slash or not isinstance(data, dict) or revision == 0 or revision < LATEST:
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
