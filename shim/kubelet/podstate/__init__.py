"""The pod state machine, kwok-style: explicit, pure, and testable without processes.

Inputs are the pod (spec + last API status), the kubelet's bookkeeping for it (`PodRecord`: one
`ContainerRecord` per container with the current and previous instance, restart count, back-off and probe
results) and the time. Outputs are what to do next (`plan`) and the full API status (`pod_status`). The pod
worker applies `record_*` transitions as the runtime reports starts, failures and exits.

Split in three: records.py (the model and its transitions), plan.py (what to do), status.py (what to report).
Semantics follow upstream's kubelet: getPhase and the condition generators in pkg/kubelet/status/generate.go,
waiting reasons (ContainerCreating, PodInitializing, CrashLoopBackOff, ErrImagePull/ImagePullBackOff,
CreateContainerConfigError, CreateContainerError), terminated reasons (Completed, Error, OOMKilled,
ContainerStatusUnknown) and the crash-loop back-off (first restart immediate, then base doubling to max, reset
after a run of 2*max).
"""
from __future__ import annotations

from shim.kubelet.podstate.plan import Plan, deadline_at, plan
from shim.kubelet.podstate.records import (DEADLINE_MESSAGE, DEADLINE_REASON, ERR_IMAGE_PULL_DISPLAY,
                                           KUBELET_CONDITIONS, TERMINAL, VANISHED_MESSAGE, VANISHED_REASON, Backoff,
                                           ContainerRecord, Instance, PodRecord, app_containers, effective_policy,
                                           go_duration, init_containers, is_sidecar, record_exit,
                                           record_start_failure, record_started, restart_policy, should_restart,
                                           terminated_reason)
from shim.kubelet.podstate.status import container_status, pod_phase, pod_status
from shim.kubelet.timeutil import rfc3339

__all__ = ["Plan", "deadline_at", "plan", "DEADLINE_MESSAGE", "DEADLINE_REASON", "ERR_IMAGE_PULL_DISPLAY",
           "KUBELET_CONDITIONS", "TERMINAL", "VANISHED_MESSAGE", "VANISHED_REASON", "Backoff", "ContainerRecord",
           "Instance", "PodRecord", "app_containers", "effective_policy", "go_duration", "init_containers",
           "is_sidecar", "record_exit", "record_start_failure", "record_started", "restart_policy",
           "should_restart", "terminated_reason", "container_status", "pod_phase", "pod_status", "rfc3339"]
