"""Go's standard library as upstream's messages show it: values as fmt prints them (`%q`, `%#v`), and the errors
of strconv, encoding/base64 and time.Parse, which upstream passes on word for word."""
from __future__ import annotations

import re
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


def parse_uint_error(text: str, bits: int = 64) -> str | None:
    """strconv.ParseUint(text, 10, bits)'s error, None when it parses."""
    if not text or not text.isascii() or not text.isdigit():
        return f"strconv.ParseUint: parsing {quote(text)}: invalid syntax"
    if int(text) >= 1 << bits:
        return f"strconv.ParseUint: parsing {quote(text)}: value out of range"
    return None


_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_BASE64_URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_NEWLINES = frozenset(b"\r\n")


def base64_error(text: str, *, url: bool = False, padded: bool = True) -> str | None:
    """encoding/base64's error for `text` (StdEncoding, or RawURLEncoding: `url` and not `padded`): the offset of
    its first bad byte, as Go's decoder finds it; None when it decodes."""
    src, si = text.encode(), 0
    alphabet = _BASE64_URL if url else _BASE64

    def corrupt(at: int) -> str:
        return f"illegal base64 data at input byte {at}"

    while True:  # one quantum of four characters a round (decodeQuantum)
        j = 0
        while j < 4:
            if si == len(src):
                return None if j == 0 or (j > 1 and not padded) else corrupt(si - j)
            c = src[si]
            si += 1
            if c in alphabet:
                j += 1
            elif c in _NEWLINES:
                continue
            elif c != ord("=") or j < 2 or not padded:
                return corrupt(si - 1)
            else:  # padding ends the data: `==` after two characters, `=` after three, then nothing
                if j == 2:
                    while si < len(src) and src[si] in _NEWLINES:
                        si += 1
                    if si == len(src):
                        return corrupt(len(src))
                    if src[si] != ord("="):
                        return corrupt(si - 1)
                    si += 1
                while si < len(src) and src[si] in _NEWLINES:
                    si += 1
                return corrupt(si) if si < len(src) else None


_LAYOUT_ELEMENTS = re.compile(r"2006|01|02|15|04|05|\.000000|Z07:00")
_RANGES = {"01": ("month", 1, 12), "15": ("hour", 0, 23), "04": ("minute", 0, 59), "05": ("second", 0, 59)}


def time_error(value: str, layout: str) -> str | None:
    """time.Parse's error for `value` in one of the RFC 3339 layouts metav1's times use, None when it parses."""
    def failed(value_elem: str, layout_elem: str) -> str:
        return f"parsing time {quote(value)} as {quote(layout)}: cannot parse {quote(value_elem)} as " \
               f"{quote(layout_elem)}"

    rest, pos, year, month, day = value, 0, 0, 1, 1
    for match in _LAYOUT_ELEMENTS.finditer(layout):
        literal, element = layout[pos:match.start()], match.group()
        pos = match.end()
        if not rest.startswith(literal):
            return failed(rest, literal)
        rest = rest[len(literal):]
        before = rest
        if element == "2006":
            if len(rest) < 4 or not re.fullmatch(r"[+-]?\d+", rest[:4]):
                return failed(before, element)
            year, rest = int(rest[:4]), rest[4:]
        elif element == "Z07:00":
            if rest.startswith("Z"):
                rest = rest[1:]
                continue
            if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-" or not (rest[1:3] + rest[4:6]).isdigit():
                return failed(before, element)
            if int(rest[1:3]) > 24:
                return f"parsing time {quote(value)}: time zone offset hour out of range"
            if int(rest[4:6]) > 60:
                return f"parsing time {quote(value)}: time zone offset minute out of range"
            rest = rest[6:]
        elif element == ".000000":
            if len(rest) < 7 or rest[0] not in ".," or not rest[1:7].isdigit():
                return failed(before, element)
            rest = rest[7:]
        else:  # two digits; the hour may be one
            if not rest[:1].isdigit() or (not rest[1:2].isdigit() and element != "15"):
                return failed(before, element)
            width = 2 if rest[1:2].isdigit() else 1
            number, rest = int(rest[:width]), rest[width:]
            if element == "02":
                day = number
            elif element == "01":
                month = number
            name, low, high = _RANGES.get(element, ("", 0, 99))  # the day is checked against its month last
            if name and not low <= number <= high:
                return f"parsing time {quote(value)}: {name} out of range"
            if element == "05" and len(rest) >= 2 and rest[0] in ".," and rest[1].isdigit() \
                    and not layout[pos:].startswith(".0"):
                rest = rest[1:].lstrip("0123456789")  # fractional seconds the layout does not spell
    if rest:
        return f"parsing time {quote(value)}: extra text: {quote(rest)}"
    if not 1 <= day <= _days_in(month, year):
        return f"parsing time {quote(value)}: day out of range"
    return None


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31
