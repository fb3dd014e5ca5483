"""Which of kube-controller-manager's controllers run in-process, chosen as its `--controllers` flag chooses.

`*` turns on every controller kubeshim has, `name` turns one on, `-name` turns one off (upstream's names). The
API server's own loops (the `kubernetes` Service, APIServices, flow-control bootstrap, CRD cleanup) always run.
"""
from __future__ import annotations

from dataclasses import dataclass

CONTROLLERS = ("endpoints-controller", "endpointslice-controller", "garbage-collector-controller",
               "namespace-controller", "root-ca-certificate-publisher-controller", "serviceaccount-controller",
               "serviceaccount-token-controller", "validatingadmissionpolicy-status-controller",
               "replicaset-controller", "deployment-controller", "job-controller",
               "replicationcontroller-controller", "cronjob-controller", "ttl-after-finished-controller",
               "disruption-controller")


@dataclass(frozen=True)
class Selection:
    enabled: frozenset[str]

    def __contains__(self, name: str) -> bool:
        return name in self.enabled

    @classmethod
    def parse(cls, items: list[str]) -> "Selection":
        """ValueError naming the first unknown controller."""
        enabled: set[str] = set()
        for item in items or ["*"]:
            for word in (w.strip() for w in item.split(",") if w.strip()):
                name = word.removeprefix("-")
                if word == "*":
                    enabled |= set(CONTROLLERS)
                elif name not in CONTROLLERS:
                    raise ValueError(f'"{name}" is not in the list of known controllers: {", ".join(CONTROLLERS)}')
                elif word.startswith("-"):
                    enabled.discard(name)
                else:
                    enabled.add(name)
        return cls(frozenset(enabled))


ALL = Selection(frozenset(CONTROLLERS))
