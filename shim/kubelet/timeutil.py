"""Timestamps as the API writes them: RFC 3339 seconds for Time, microseconds for MicroTime, nanos in CRI logs.

Wall-clock epoch floats are used internally because they survive a kubeshim restart (back-off deadlines and
container start times are persisted).
"""
from __future__ import annotations

import datetime as _dt

_UTC = _dt.timezone.utc


def rfc3339(ts: float) -> str:
    """metav1.Time: second precision, always UTC 'Z'."""
    return _dt.datetime.fromtimestamp(int(ts), _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts: float) -> str:
    """metav1.MicroTime (Lease renewTime, Event eventTime)."""
    return _dt.datetime.fromtimestamp(ts, _UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(ts_ns: int) -> str:
    """Go's RFC3339Nano (trailing zeros trimmed), as containerd writes CRI logs and kubectl shows them."""
    sec, nanos = divmod(ts_ns, 1_000_000_000)
    base = _dt.datetime.fromtimestamp(sec, _UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"




def parse_time(text: str) -> float:
    """Parse RFC 3339 with any fractional precision (Python's fromisoformat stops at microseconds)."""
    return parse_time_ns(text) / 1e9


def parse_time_ns(text: str) -> int:
    """RFC 3339 to epoch nanoseconds, exact (log filtering needs nanos)."""
    text = text.strip()
    nanos = 0
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        nanos = int((text[dot + 1:end] + "000000000")[:9])
        text = text[:dot] + text[end:]
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = _dt.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_UTC)
    return int(dt.timestamp()) * 1_000_000_000 + nanos
