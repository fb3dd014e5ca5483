"""Values as Go's fmt prints them, for upstream's messages that embed them (`%q`, `%#v`)."""
from __future__ import annotations

from collections.abc import Iterable

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
            "\\": "\\\\", '"': '\\"'}


def quote(text: str) -> str:
    """`%q` of a string (strconv.Quote): printable characters as they are, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def string_slice(values: Iterable[str]) -> str:
    """`%#v` of a []string: `[]string{"a", "b"}`."""
    return "[]string{" + ", ".join(quote(v) for v in values) + "}"
