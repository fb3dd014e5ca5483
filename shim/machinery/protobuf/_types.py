"""JSON forms of the apimachinery types whose Go JSON marshalling is custom.

Pure functions, no protobuf: metav1.Time / MicroTime (RFC 3339 in UTC, seconds resp. microseconds),
metav1.Duration (Go's ``time.Duration`` string, e.g. ``"1h0m0s"``), and the float rule of Go's
encoding/json (integral float64 values print without a fraction, so they read back as ints).
"""
from __future__ import annotations

import calendar
import re
import time

# Go's zero time.Time (January 1, year 1, 00:00:00 UTC) as Unix seconds; it marshals as JSON null.
GO_ZERO_UNIX = -62135596800

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))\Z"
)


def format_time(seconds: int) -> str:
    """metav1.Time JSON: ``2006-01-02T15:04:05Z`` (UTC, whole seconds)."""
    t = time.gmtime(seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % t[:6]


def format_micro_time(seconds: int, nanos: int) -> str:
    """metav1.MicroTime JSON: ``2006-01-02T15:04:05.000000Z`` (UTC, nanos truncated to micros)."""
    t = time.gmtime(seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (*t[:6], nanos // 1000)


def parse_time(text: str) -> tuple[int, int]:
    """RFC 3339 text -> (Unix seconds, nanoseconds)."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"invalid RFC 3339 time {text!r}")
    year, mon, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    seconds = calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))
    if m.group(9):  # numeric offset: local = UTC + offset
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return seconds, nanos


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?([a-z\u00b5\u03bc]+)")


def format_duration(nanos: int) -> str:
    """Go ``time.Duration.String()``: ``0s``, ``1.5s``, ``2m0s``, ``1h0m0s``, ``100ms``, ``1\u00b5s``."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = -nanos if nanos < 0 else nanos
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_frac(u, 1_000)}\u00b5s"
        return f"{sign}{_frac(u, 1_000_000)}ms"
    secs, sub = divmod(u, 1_000_000_000)
    text = _frac(secs % 60 * 1_000_000_000 + sub, 1_000_000_000) + "s"
    minutes = secs // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def _frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def parse_duration(text: str) -> int:
    """Go ``time.ParseDuration`` -> nanoseconds (``"1h30m"``, ``"1.5s"``, ``"-2m"``, ``"0"``)."""
    s = text
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or (not m.group(1) and not m.group(2)) or m.group(3) not in _UNITS:
            raise ValueError(f"invalid duration {text!r}")
        unit = _UNITS[m.group(3)]
        total += int(m.group(1) or 0) * unit
        if m.group(2):
            frac = m.group(2)
            total += int(frac) * unit // 10 ** len(frac)
        pos = m.end()
    return sign * total


def json_float(value: float) -> float | int:
    """A float64 as Go's encoding/json prints it and a JSON parser reads it back (``5.0`` -> ``5``)."""
    if value.is_integer() and -1e21 < value < 1e21:
        return int(value)
    return value
