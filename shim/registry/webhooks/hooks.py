"""The webhooks of the stored configurations, as upstream's configuration managers hand them to the dispatchers:
configurations in name order, each one's webhooks in their order, with the API's defaults where a field is
absent and their matchConditions compiled. Read from the store's current state on every request, decoded and
compiled once per revision of a configuration."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shim.machinery import cel
from shim.machinery.cel import admission as expressions
from shim.storage.store import Store

Obj = dict[str, Any]
MUTATING = "admissionregistration.k8s.io/mutatingwebhookconfigurations"
VALIDATING = "admissionregistration.k8s.io/validatingwebhookconfigurations"


@dataclass(frozen=True)
class Hook:
    """One webhook of one configuration."""

    #: `<configuration>/<webhook>/<index>`, upstream's accessor uid (what reinvocation remembers)
    uid: str
    configuration: str
    spec: Obj
    mutating: bool
    #: the matchConditions, each compiled (a string: its compilation error)
    conditions: tuple[tuple[str, cel.Program | str], ...]

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def ignores_failures(self) -> bool:
        return self.spec.get("failurePolicy") == "Ignore"

    @property
    def exact(self) -> bool:
        return self.spec.get("matchPolicy") == "Exact"

    @property
    def timeout(self) -> int:
        value = self.spec.get("timeoutSeconds")
        return value if isinstance(value, int) else 10

    @property
    def side_effects(self) -> str | None:
        value = self.spec.get("sideEffects")
        return None if value is None else str(value)

    @property
    def reinvoked_if_needed(self) -> bool:
        return self.mutating and self.spec.get("reinvocationPolicy") == "IfNeeded"

    @property
    def review_versions(self) -> list[str]:
        return [str(v) for v in self.spec.get("admissionReviewVersions") or []]


def _compile(source: str) -> cel.Program | str:
    env = expressions.environment(params=False, authorizer=True)
    try:
        return expressions.compile_expression(source, env, expressions.BOOL_RESULT)
    except cel.CompileError as err:
        return err.message


class HookSource:
    """The current webhooks of one kind of configuration."""

    def __init__(self, store: Store, storage: str) -> None:
        self.store = store
        self.storage = storage
        self._cache: dict[str, tuple[int, list[Hook]]] = {}

    def hooks(self) -> list[Hook]:
        current: dict[str, tuple[int, list[Hook]]] = {}
        for _, name, entry in self.store.items(self.storage):
            cached = self._cache.get(name)
            current[name] = cached if cached is not None and cached[0] == entry.rv else (
                entry.rv, self._decode(name, orjson.loads(entry.raw)))
        self._cache = current
        return [hook for name in sorted(current) for hook in current[name][1]]

    def _decode(self, configuration: str, obj: Obj) -> list[Hook]:
        hooks = []
        for index, spec in enumerate(obj.get("webhooks") or []):
            conditions = tuple((str(c.get("name", "")), _compile(str(c.get("expression") or "")))
                               for c in spec.get("matchConditions") or [])
            hooks.append(Hook(f"{configuration}/{spec.get('name', '')}/{index}", configuration, spec,
                              self.storage == MUTATING, conditions))
        return hooks
