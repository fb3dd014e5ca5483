"""`$(VAR)` references in command, args and env values, with upstream's exact rules.

`$(NAME)` becomes the variable's value when NAME is defined and stays verbatim when it is not; `$$` is an
escaped `$`; any other `$` is literal. There is no recursion: an expanded value is not expanded again.
"""
from __future__ import annotations

from typing import Mapping


def expand(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:  # incomplete reference: literal, keep scanning after it
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:close]
            out.append(env[name] if name in env else text[i:close + 1])
            i = close + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)
