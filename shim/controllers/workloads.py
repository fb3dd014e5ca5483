"""The workload controllers of kube-controller-manager, run in-process on one set of shared informers: each is
started when `--controllers` chooses it and the API serves its kinds."""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Protocol

from shim.clients.base import Client, Resource
from shim.controllers.clock import Clock
from shim.controllers.cronjob import CRONJOBS, CronJobController
from shim.controllers.deployment import DEPLOYMENTS, DeploymentController
from shim.controllers.disruption import PDBS, STATEFULSETS, DisruptionController
from shim.controllers.informers import Informers
from shim.controllers.job import JOBS, JobController
from shim.controllers.ttlafterfinished import TTLAfterFinishedController
from shim.controllers.replicaset import REPLICASET, REPLICATIONCONTROLLER, ReplicaSetController


class Controller(Protocol):
    async def run(self) -> None: ...


Factory = Callable[[Client, Informers, Clock], Controller]

#: upstream's controller name -> the resources it needs served, and how to make it
WORKLOADS: dict[str, tuple[tuple[Resource, ...], Factory]] = {
    "replicaset-controller": ((REPLICASET.resource,),
                              lambda c, i, clock: ReplicaSetController(c, i, REPLICASET, clock=clock)),
    "deployment-controller": ((DEPLOYMENTS, REPLICASET.resource),
                              lambda c, i, clock: DeploymentController(c, i, clock=clock)),
    "job-controller": ((JOBS,), lambda c, i, clock: JobController(c, i, clock=clock)),
    "replicationcontroller-controller": ((REPLICATIONCONTROLLER.resource,), lambda c, i, clock: ReplicaSetController(
        c, i, REPLICATIONCONTROLLER, clock=clock)),
    "cronjob-controller": ((CRONJOBS, JOBS), lambda c, i, clock: CronJobController(c, i, clock=clock)),
    "ttl-after-finished-controller": ((JOBS,), lambda c, i, clock: TTLAfterFinishedController(c, i, clock=clock)),
    "disruption-controller": ((PDBS, REPLICASET.resource, DEPLOYMENTS, STATEFULSETS, REPLICATIONCONTROLLER.resource),
                              lambda c, i, clock: DisruptionController(c, i, clock=clock)),
}


async def run_workloads(client: Client, serves: Callable[[Resource], bool], chosen: Any,
                        clock: Clock | None = None) -> None:
    """Run every chosen workload controller whose resources are served, until cancelled; `clock` is the time
    they all read (a FakeClock in tests)."""
    clock = clock or Clock()
    informers = Informers(client)
    controllers = [factory(client, informers, clock) for name, (needs, factory) in WORKLOADS.items()
                   if name in chosen and all(serves(r) for r in needs)]
    if not controllers:
        await asyncio.Future()  # nothing to run: stay idle rather than be restarted in a loop
    informers.start()
    try:
        await asyncio.gather(*(c.run() for c in controllers))
    finally:
        await informers.stop()
