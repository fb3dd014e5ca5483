"""Kubernetes time formats: metav1.Time (seconds) and metav1.MicroTime."""
from __future__ import annotations

import datetime as dt

from shim.machinery.errors import bad_request


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def format_time(t: dt.datetime) -> str:
    """metav1.Time: RFC 3339 in UTC with second precision."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro(t: dt.datetime) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_unix(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def now_string() -> str:
    return format_time(now())


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp; a bad one is a 400."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise bad_request(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse') from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value
