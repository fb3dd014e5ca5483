"""Who a request comes from, as authentication established it (upstream's user.Info)."""
from __future__ import annotations

from dataclasses import dataclass

MASTERS = "system:masters"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups
