"""FlyteRemote, the flytekit client a user scripts Flyte with, as a small command for the admin tier.

Runs under the flytekit task environment's interpreter (flytekit's dependencies conflict with the kubernetes
client's, so the test process cannot import it) and prints one JSON document:

    python remote.py --config flytekit.yaml --project x --domain d-dev wait NAME [--timeout 300]
    python remote.py --config flytekit.yaml --project x --domain d-dev terminate NAME
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from typing import Any

from flyteidl.core.catalog_pb2 import CatalogCacheStatus
from flytekit.configuration import Config
from flytekit.models.core.execution import NodeExecutionPhase, TaskExecutionPhase, WorkflowExecutionPhase
from flytekit.remote import FlyteRemote


def _node(node: Any) -> dict[str, Any]:
    closure = node.closure
    tasks = node.task_executions or []
    child = closure.workflow_node_metadata.execution_id if closure.workflow_node_metadata else None
    cache = closure.task_node_metadata.cache_status if closure.task_node_metadata else None
    return {
        "phase": NodeExecutionPhase.enum_to_string(closure.phase),
        "attempts": len(tasks),
        "task_phases": [TaskExecutionPhase.enum_to_string(t.closure.phase) for t in tasks],
        "cache_status": CatalogCacheStatus.Name(cache) if cache is not None else None,
        "logs": [log.uri for t in tasks for log in (t.closure.logs or [])],
        "error": closure.error.message if closure.error else None,
        "child_execution": child.name if child else None,
    }


def wait(remote: FlyteRemote, name: str, timeout: float) -> dict[str, Any]:
    execution = remote.fetch_execution(name=name)
    execution = remote.wait(execution, timeout=timedelta(seconds=timeout), poll_interval=timedelta(seconds=1))
    execution = remote.sync_execution(execution, sync_nodes=True)
    closure = execution.closure
    outputs = None
    if closure.phase == WorkflowExecutionPhase.SUCCEEDED:
        outputs = {key: execution.outputs[key] for key in execution.outputs.literals}
    return {
        "name": name,
        "phase": WorkflowExecutionPhase.enum_to_string(closure.phase),
        "outputs": outputs,
        "error": {"code": closure.error.code, "kind": closure.error.kind, "message": closure.error.message}
        if closure.error else None,
        "nodes": {node_id: _node(node) for node_id, node in execution.node_executions.items()},
    }


def terminate(remote: FlyteRemote, name: str) -> dict[str, Any]:
    remote.terminate(remote.fetch_execution(name=name), cause="terminated by the kubeshim admin tier")
    return {"name": name, "terminated_at": time.time()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("verb", choices=["wait", "terminate"])
    parser.add_argument("name")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    remote = FlyteRemote(Config.auto(config_file=args.config), default_project=args.project,
                         default_domain=args.domain)
    doc = wait(remote, args.name, args.timeout) if args.verb == "wait" else terminate(remote, args.name)
    json.dump(doc, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
