#!/usr/bin/env python3
"""Decode cost of a typical Flyte task pod: Kubernetes protobuf vs. JSON.

    .venv/bin/python bench/protobuf_decode.py [--iterations 2000] [--runs 5]

Prints the median microseconds per decode (median of the per-run means) for
``shim.machinery.protobuf.decode`` of the protobuf body and ``orjson.loads`` of the equivalent
JSON body, plus ``encode`` (answering protobuf-only clients) and the one-off descriptor load.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shim.machinery import protobuf  # noqa: E402
from shim.machinery.protobuf import _codec  # noqa: E402


def flyte_task_pod() -> dict:
    """A pod as flytepropeller creates it for a Python task (~40 env vars)."""
    exec_id = "a8xjk2qrv9zmtl4wcd5p"
    labels = {
        "domain": "development",
        "execution-id": exec_id,
        "interruptible": "false",
        "node-id": "n0",
        "project": "flytesnacks",
        "shard-key": "21",
        "task-name": "workflows-example-say-hello",
        "workflow-name": "workflows-example-wf",
    }
    env = [
        {"name": "FLYTE_INTERNAL_EXECUTION_WORKFLOW", "value": "flytesnacks:development:workflows.example.wf"},
        {"name": "FLYTE_INTERNAL_EXECUTION_ID", "value": exec_id},
        {"name": "FLYTE_INTERNAL_EXECUTION_PROJECT", "value": "flytesnacks"},
        {"name": "FLYTE_INTERNAL_EXECUTION_DOMAIN", "value": "development"},
        {"name": "FLYTE_ATTEMPT_NUMBER", "value": "0"},
        {"name": "FLYTE_INTERNAL_TASK_PROJECT", "value": "flytesnacks"},
        {"name": "FLYTE_INTERNAL_TASK_DOMAIN", "value": "development"},
        {"name": "FLYTE_INTERNAL_TASK_NAME", "value": "workflows.example.say_hello"},
        {"name": "FLYTE_INTERNAL_TASK_VERSION", "value": "v1.2.3-abcdef"},
        {"name": "FLYTE_INTERNAL_PROJECT", "value": "flytesnacks"},
        {"name": "FLYTE_INTERNAL_DOMAIN", "value": "development"},
        {"name": "FLYTE_INTERNAL_NAME", "value": "workflows.example.say_hello"},
        {"name": "FLYTE_INTERNAL_VERSION", "value": "v1.2.3-abcdef"},
        {"name": "FLYTE_AWS_ENDPOINT", "value": "http://127.0.0.1:30002"},
        {"name": "FLYTE_AWS_ACCESS_KEY_ID", "value": "minio"},
        {"name": "FLYTE_AWS_SECRET_ACCESS_KEY", "value": "miniostorage"},
        {"name": "FLYTE_PLATFORM_URL", "value": "127.0.0.1:30080"},
        {"name": "FLYTE_PLATFORM_INSECURE", "value": "true"},
    ]
    env += [{"name": f"USER_ENV_{i:02d}", "value": f"value-{i}-" + "x" * (i % 7)} for i in range(18)]
    env += [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
        {"name": "SECRET_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "token", "optional": True}}},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{exec_id}-n0-0",
            "namespace": "flytesnacks-development",
            "uid": "3f2a6b1e-8f2c-4d3b-9a7e-0c1d2e3f4a5b",
            "resourceVersion": "123456",
            "creationTimestamp": "2025-01-02T03:04:05Z",
            "labels": labels,
            "annotations": {
                "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
                "primary_container_name": f"{exec_id}-n0-0",
                "flyte.org/attempt": "0",
            },
            "ownerReferences": [{
                "apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow", "name": exec_id,
                "uid": "7d9e1f2a-3b4c-5d6e-7f80-91a2b3c4d5e6", "controller": True, "blockOwnerDeletion": True,
            }],
            "finalizers": ["flyte/flytek8s"],
        },
        "spec": {
            "containers": [{
                "name": f"{exec_id}-n0-0",
                "image": "cr.flyte.org/flyteorg/flytekit:py3.11-1.16.0",
                "args": [
                    "pyflyte-fast-execute", "--additional-distribution",
                    "s3://my-s3-bucket/flytesnacks/development/ABCDEFGHIJKLMNOP==/fast1234.tar.gz",
                    "--dest-dir", ".", "--", "pyflyte-execute", "--inputs",
                    f"s3://my-s3-bucket/metadata/propeller/flytesnacks-development-{exec_id}/n0/data/inputs.pb",
                    "--output-prefix", f"s3://my-s3-bucket/metadata/propeller/flytesnacks-development-{exec_id}/n0/data/0",
                    "--raw-output-data-prefix", "s3://my-s3-bucket/data/xy/abcdefgh-n0-0",
                    "--checkpoint-path", "s3://my-s3-bucket/data/xy/abcdefgh-n0-0/_flytecheckpoints",
                    "--prev-checkpoint", '""',
                    "--resolver", "flytekit.core.python_auto_container.default_task_resolver",
                    "--", "task-module", "workflows.example", "task-name", "say_hello",
                ],
                "env": env,
                "resources": {
                    "limits": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "2Gi"},
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                },
                "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": True,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "imagePullPolicy": "IfNotPresent",
            }],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": False,
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300},
            ],
            "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                              "fieldPath": "metadata.namespace"}}]}},
            ]}}],
        },
    }


def per_call_us(fn, arg, iterations: int, runs: int) -> float:
    means = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iterations):
            fn(arg)
        means.append((time.perf_counter() - t0) / iterations * 1e6)
    return statistics.median(means)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    _codec.registry()
    load_ms = (time.perf_counter() - t0) * 1e3

    pod = flyte_task_pod()
    pb_body = protobuf.encode(pod)
    json_body = orjson.dumps(pod)
    assert protobuf.decode(pb_body) == pod, "protobuf round trip changed the pod"
    assert orjson.loads(json_body) == pod

    pb_us = per_call_us(protobuf.decode, pb_body, args.iterations, args.runs)
    js_us = per_call_us(orjson.loads, json_body, args.iterations, args.runs)
    enc_us = per_call_us(protobuf.encode, pod, args.iterations, args.runs)
    print(f"Flyte task pod: {len(pod['spec']['containers'][0]['env'])} env vars, "
          f"protobuf {len(pb_body)} bytes, JSON {len(json_body)} bytes")
    print(f"descriptor set load (once): {load_ms:.1f} ms")
    print(f"protobuf.decode : {pb_us:8.1f} us/pod (median of {args.runs} x {args.iterations})")
    print(f"orjson.loads    : {js_us:8.1f} us/pod")
    print(f"ratio           : {pb_us / js_us:8.1f}x")
    print(f"protobuf.encode : {enc_us:8.1f} us/pod")


if __name__ == "__main__":
    main()
