"""Pods: upstream defaults, the Pending phase, selectable fields, spec immutability and graceful deletion."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, quantity, tables
from shim.registry.kinds.node import admit_pod_runtime_class
from shim.registry.kinds.pod_service_account import admit_pod_service_account, awaited_account
from shim.registry.kinds.scheduling import admit_pod_priority
from shim.registry.kinds.sysctls import validate_sysctls
from shim.registry.strategy import Causes, Obj, Strategy, Stored, semantic

_MUTABLE_SPEC = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
                 "schedulingGates", "nodeName")


def _default_container(c: Obj, policy_fallback: str) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = str(c.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = "Always" if (":" not in tag and "@" not in image) or tag.endswith(":latest") \
            else "IfNotPresent"
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in c.get("env") or []:
        ref = env.get("valueFrom", {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            if isinstance(probe.get("httpGet"), dict):
                probe["httpGet"].setdefault("path", "/")
                probe["httpGet"].setdefault("scheme", "HTTP")


def _validate_containers(spec: Obj, field: str, causes: Causes, required: bool) -> set[str]:
    containers = spec.get(field)
    seen: set[str] = set()
    if containers is None:
        if required:
            causes.append(errors.field_required(f"spec.{field}"))
        return seen
    if not isinstance(containers, list):
        causes.append(errors.field_invalid(f"spec.{field}", containers, "must be a list"))
        return seen
    if required and not containers:
        causes.append(errors.field_required(f"spec.{field}"))
    for i, c in enumerate(containers):
        path = f"spec.{field}[{i}]"
        if not isinstance(c, dict):
            causes.append(errors.field_invalid(path, c, "must be an object"))
            continue
        name = c.get("name")
        if not name:
            causes.append(errors.field_required(f"{path}.name"))
        elif name in seen:
            causes.append({"reason": "FieldValueDuplicate", "message": f'Duplicate value: "{name}"',
                           "field": f"{path}.name"})
        else:
            seen.add(name)
        if not c.get("image"):
            causes.append(errors.field_required(f"{path}.image"))
        _validate_resources(c.get("resources"), f"{path}.resources", causes)
    return seen


def _validate_resources(resources: Any, path: str, causes: Causes) -> None:
    """Quantities must parse, be non-negative, and requests may not exceed limits (core validation).

    Syntax is checked with the quantity pattern alone; exact values are parsed only where a request and a
    limit of the same resource must be compared (Fraction arithmetic is the costly part, on the create path).
    """
    if not isinstance(resources, dict):
        return
    for kind in ("requests", "limits"):
        for name, value in (resources.get(kind) or {}).items():
            problem = quantity.syntax_error(value)
            if problem:
                causes.append(errors.field_invalid(f"{path}.{kind}[{name}]", value, problem))
            elif str(value).lstrip().startswith("-"):
                causes.append(errors.field_invalid(f"{path}.{kind}[{name}]", value,
                                                   "must be greater than or equal to 0"))
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for name in requests.keys() & limits.keys():
        if quantity.syntax_error(requests[name]) or quantity.syntax_error(limits[name]):
            continue
        if quantity.parse(requests[name]) > quantity.parse(limits[name]):
            causes.append(errors.field_invalid(f"{path}.requests", requests[name],
                                               f"must be less than or equal to {name} limit of {limits[name]}"))


def default_pod_spec(spec: Obj) -> None:
    """The defaults of every pod spec, a pod's or a template's (SetDefaults_PodSpec, _Container, volume
    sources); SetDefaults_Pod's own apply to pods only."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                _default_container(c, spec["restartPolicy"])
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


class PodStrategy(Strategy):
    has_status_subresource = True
    #: old kubelets corrupted them through pods/status, so upstream keeps them
    status_keeps_metadata = ("ownerReferences",)
    returns_deleted_object = True
    graceful = True
    field_labels = frozenset({"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                              "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                              "status.podIP", "status.podIPs", "status.nominatedNodeName"})

    def default(self, obj: Obj) -> None:
        """Upstream's scheme defaults (SetDefaults_Pod on top of those of every pod spec)."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        for field in ("initContainers", "containers"):
            for c in spec.get(field) or []:
                limits = (c.get("resources") or {}).get("limits") if isinstance(c, dict) else None
                if isinstance(limits, dict):
                    requests = c["resources"].setdefault("requests", {})
                    for key, value in limits.items():
                        requests.setdefault(key, value)

    def prepare_for_create(self, obj: Obj) -> None:
        """What admission (default tolerations) and the registry add; the ServiceAccount, Priority and
        RuntimeClass admission plugins follow in `admit`."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        # v1's deprecated serviceAccount is an alias: serviceAccountName wins, and the alias repeats it
        if spec.get("serviceAccountName"):
            spec["serviceAccount"] = spec["serviceAccountName"]
        elif spec.get("serviceAccount"):
            spec["serviceAccountName"] = spec["serviceAccount"]
        spec.setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}])
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}

    def admission_waits(self, obj: Obj, stored: Stored) -> list[tuple[str, str, str]]:
        return awaited_account(obj, stored)

    def admit(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """The ServiceAccount, Priority and RuntimeClass admission plugins, in upstream's order (a new pod's
        default tolerations, which RuntimeClass merges into, are already in place)."""
        if old is None:
            admit_pod_service_account(obj, stored)
        admit_pod_priority(obj, old, stored)
        if old is None:
            admit_pod_runtime_class(obj, stored)

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [errors.field_required("spec")]
        names = _validate_containers(spec, "containers", causes, True)
        names |= _validate_containers(spec, "initContainers", causes, False)
        policy = spec.get("restartPolicy")
        if policy not in ("Always", "OnFailure", "Never"):
            causes.append(errors.field_not_supported("spec.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
        grace = spec.get("terminationGracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or grace < 0):
            causes.append(errors.field_invalid("spec.terminationGracePeriodSeconds", grace,
                                               "must be greater than or equal to 0"))
        volumes = set()
        for i, v in enumerate(spec.get("volumes") or []):
            if not isinstance(v, dict) or not v.get("name"):
                causes.append(errors.field_required(f"spec.volumes[{i}].name"))
                continue
            volumes.add(v["name"])
        for field in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(field) or []):
                if not isinstance(c, dict):
                    continue
                for j, m in enumerate(c.get("volumeMounts") or []):
                    if isinstance(m, dict) and m.get("name") not in volumes:
                        causes.append({"reason": "FieldValueNotFound", "message": f'Not found: "{m.get("name")}"',
                                       "field": f"spec.{field}[{i}].volumeMounts[{j}].name"})
        causes += validate_sysctls(spec)
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = self.validate(new)
        a, b = dict(new.get("spec") or {}), dict(old.get("spec") or {})
        for key in _MUTABLE_SPEC:
            a.pop(key, None)
            b.pop(key, None)
        for field in ("containers", "initContainers"):
            for spec in (a, b):
                if isinstance(spec.get(field), list):
                    spec[field] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                                   for c in spec[field]]
        if semantic(a) != semantic(b):
            causes.append(errors.field_forbidden("spec", "pod updates may not change fields other than "
                                                 "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                                 "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                                                 "to existing tolerations),`spec.terminationGracePeriodSeconds` "
                                                 "(allow it to be set to 1 if it was previously negative)"))
        return causes

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        out["spec.nodeName"] = spec.get("nodeName", "")
        out["spec.restartPolicy"] = spec.get("restartPolicy", "")
        out["spec.schedulerName"] = spec.get("schedulerName", "")
        out["spec.serviceAccountName"] = spec.get("serviceAccountName", "")
        out["spec.hostNetwork"] = "true" if spec.get("hostNetwork") else "false"
        out["status.phase"] = status.get("phase", "")
        out["status.podIP"] = status.get("podIP", "")
        out["status.podIPs"] = ",".join(p.get("ip", "") for p in status.get("podIPs") or [])
        out["status.nominatedNodeName"] = status.get("nominatedNodeName", "")
        return out

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        """Unscheduled and finished pods go at once; others wait for the kubelet (pod strategy.go)."""
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        meta_grace = obj.get("metadata", {}).get("deletionGracePeriodSeconds")
        if meta_grace is not None:
            return int(meta_grace)
        return int(spec.get("terminationGracePeriodSeconds", 30) or 0)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def table_columns(self) -> list[dict[str, Any]]:
        return POD_COLUMNS

    def table_cells(self, obj: Obj) -> list[Any]:
        return pod_cells(obj)


POD_COLUMNS = [
    tables.column("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    tables.column("Status", description="The aggregate status of the containers in this pod."),
    tables.column("Restarts", description="The number of times the containers in this pod have been restarted "
                  "and when the last container in this pod has restarted."),
    tables.AGE_COLUMN,
    tables.column("IP", priority=1, description="podIP address allocated to the pod."),
    tables.column("Node", priority=1, description="NodeName indicates in which node this pod is scheduled."),
    tables.column("Nominated Node", priority=1, description="nominatedNodeName is set only when this pod "
                  "preempts other pods on the node."),
    tables.column("Readiness Gates", priority=1, description="If specified, all readiness gates will be "
                  "evaluated for pod readiness."),
]


def _last_finished(status: Obj, latest: str) -> str:
    finished = ((status.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
    return max(latest, finished)


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        reason: str = terminated["reason"]
        return prefix + reason
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_cells(pod: Obj) -> list[Any]:
    """Ready, Status, Restarts, Age, IP, Node, Nominated Node, Readiness Gates as `kubectl get pods` shows them
    (upstream's printPod in pkg/printers/internalversion/printers.go)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    conditions = status.get("conditions") or []
    reason = status.get("reason") or status.get("phase") or ""
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        reason = "SchedulingGated"
    restarts, ready, last_restart = 0, 0, ""
    init_specs = spec.get("initContainers") or []
    initializing = False
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(c.get("restartCount") or 0)
        last_restart = _last_finished(c, last_restart)
        state = c.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and not terminated.get("exitCode"):
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing:
        restarts, running = 0, False
        for c in reversed(status.get("containerStatuses") or []):
            restarts += int(c.get("restartCount") or 0)
            last_restart = _last_finished(c, last_restart)
            state = c.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif c.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if pod_ready else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    restarts_cell = str(restarts) if not last_restart else f"{restarts} ({tables.since(last_restart)} ago)"
    ips = status.get("podIPs") or []
    pod_ip = (ips[0].get("ip") if ips else "") or status.get("podIP") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true_types = {c.get("type") for c in conditions if c.get("status") == "True"}
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true_types)}/{len(gates)}"
    return [f"{ready}/{len(spec.get('containers') or [])}", reason, restarts_cell, tables.age(pod), pod_ip,
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_cell]


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits (core/v1/helper/qos)."""
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                  if isinstance(c, dict)]
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for key in ("cpu", "memory"):
            if key not in lim or req.get(key, lim[key]) != lim[key]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
