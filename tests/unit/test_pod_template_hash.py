"""The pod-template-hash equals the kube-controller-manager's (controller.ComputeHash), so ReplicaSet names match a
real cluster's. The expected values were printed by tools/k8s/cmd/podtemplatehash (upstream's own ComputeHash over
the template after its JSON-in, protobuf-out trip through the API server); tests/go/test_pod_template_hash.py
compares against that program directly."""
from __future__ import annotations

from typing import Any

from shim.controllers.deploymentutil import compute_hash

MINIMAL: dict[str, Any] = {"metadata": {"labels": {"app": "web"}},
                           "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}

#: ports, env, resources, probes with int and named ports, volumes, security contexts, node selector, tolerations
FULL: dict[str, Any] = {
    "metadata": {
        "labels": {
            "app": "web",
            "pod-template-hash": "x"
        },
        "annotations": {
            "b": "2",
            "a": "1",
            "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"
        }
    },
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "python:3.11",
                "command": [
                    "python",
                    "-m",
                    "http.server",
                    "8000"
                ],
                "args": [],
                "ports": [
                    {
                        "containerPort": 8000,
                        "protocol": "TCP",
                        "name": "http"
                    },
                    {
                        "containerPort": 53,
                        "protocol": "UDP",
                        "hostPort": 5353
                    }
                ],
                "env": [
                    {
                        "name": "A",
                        "value": "1"
                    },
                    {
                        "name": "B",
                        "valueFrom": {
                            "fieldRef": {
                                "apiVersion": "v1",
                                "fieldPath": "metadata.name"
                            }
                        }
                    },
                    {
                        "name": "C",
                        "valueFrom": {
                            "resourceFieldRef": {
                                "resource": "limits.cpu",
                                "divisor": "1m"
                            }
                        }
                    }
                ],
                "resources": {
                    "limits": {
                        "cpu": "0.5",
                        "memory": "1Gi",
                        "ephemeral-storage": "2048Ki"
                    },
                    "requests": {
                        "cpu": "100m",
                        "memory": "0.5Gi",
                        "nvidia.com/gpu": 1
                    }
                },
                "livenessProbe": {
                    "httpGet": {
                        "path": "/",
                        "port": 8000,
                        "scheme": "HTTP"
                    },
                    "initialDelaySeconds": 3,
                    "periodSeconds": 10,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                    "failureThreshold": 3
                },
                "readinessProbe": {
                    "tcpSocket": {
                        "port": "http"
                    }
                },
                "startupProbe": {
                    "exec": {
                        "command": [
                            "true"
                        ]
                    }
                },
                "securityContext": {
                    "runAsUser": 1000,
                    "runAsNonRoot": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {
                        "drop": [
                            "ALL"
                        ]
                    },
                    "readOnlyRootFilesystem": True
                },
                "volumeMounts": [
                    {
                        "name": "data",
                        "mountPath": "/data"
                    },
                    {
                        "name": "cfg",
                        "mountPath": "/etc/cfg",
                        "readOnly": True
                    }
                ],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent"
            }
        ],
        "volumes": [
            {
                "name": "data",
                "emptyDir": {
                    "sizeLimit": "500Mi"
                }
            },
            {
                "name": "cfg",
                "configMap": {
                    "name": "cfg",
                    "defaultMode": 420,
                    "items": [
                        {
                            "key": "a",
                            "path": "a"
                        }
                    ]
                }
            },
            {
                "name": "empty",
                "emptyDir": {}
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "nodeSelector": {
            "kubernetes.io/os": "linux"
        },
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300
            },
            {
                "key": "k",
                "operator": "Equal",
                "value": "v",
                "effect": "NoSchedule"
            }
        ]
    }
}

#: quantities in every form ParseQuantity reads: fractions, exponents, binary and decimal suffixes, zero, negative
QUANTITIES: dict[str, Any] = {
    "metadata": {
        "labels": {
            "app": "q"
        }
    },
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "busybox",
                "resources": {
                    "limits": {
                        "cpu": "1",
                        "memory": "1000",
                        "a": "1.5",
                        "b": "1e3",
                        "c": "1e4",
                        "d": "3000k",
                        "e": "0",
                        "f": "1500",
                        "g": "12e6",
                        "h": "1025Ki",
                        "i": "0.000001",
                        "j": "1n",
                        "k": "2E",
                        "l": "-1Gi",
                        "m": "128974848",
                        "n": "129e6",
                        "o": "123Mi",
                        "p": "1M"
                    }
                }
            }
        ],
        "initContainers": [
            {
                "name": "init",
                "image": "busybox",
                "command": [
                    "sh",
                    "-c",
                    "true"
                ]
            }
        ]
    }
}

#: affinity, topology spread, lifecycle, pointers to false and zero, empty labels and annotations
POINTERS: dict[str, Any] = {
    "metadata": {
        "name": "n",
        "labels": {},
        "annotations": {}
    },
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "i",
                "lifecycle": {
                    "preStop": {
                        "sleep": {
                            "seconds": 5
                        }
                    }
                },
                "stdin": True,
                "tty": True
            }
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "k",
                                    "operator": "In",
                                    "values": [
                                        "a",
                                        "b"
                                    ]
                                }
                            ]
                        }
                    ]
                }
            }
        },
        "hostNetwork": True,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "priority": 0,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {
                    "matchLabels": {
                        "a": "b"
                    }
                }
            }
        ]
    }
}


def _template(app: str, **container: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "i", **container}]}}


def test_minimal_template_hashes_as_upstream() -> None:
    assert compute_hash(MINIMAL, None) == "794d75d85d"


def test_full_template_hashes_as_upstream() -> None:
    assert compute_hash(FULL, 1) == "7758df55d8"


def test_quantities_hash_as_upstream_parses_them() -> None:
    assert compute_hash(QUANTITIES, 7) == "7fc885c7c5"


def test_pointers_and_nested_structs_hash_as_upstream() -> None:
    assert compute_hash(POINTERS, 0) == "8f84ff4f8"


def test_empty_lists_and_maps_hash_as_absent_ones() -> None:
    """Protobuf storage brings them back nil, as the controller's informer sees them."""
    with_empties = {"metadata": {"labels": {"app": "web"}, "annotations": {}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "command": [], "env": []}]}}
    assert compute_hash(with_empties, None) == "794d75d85d"


def test_collision_count_zero_differs_from_none() -> None:
    assert compute_hash(MINIMAL, 0) == "7d676db98b"


def test_a_quantity_hashes_as_its_canonical_form() -> None:
    fractions = _template("r", resources={"requests": {"cpu": "0.5", "memory": "0.5Gi"}})
    canonical = _template("r", resources={"requests": {"cpu": "500m", "memory": "512Mi"}})
    assert compute_hash(fractions, None) == compute_hash(canonical, None) == "6b667dcb5b"


def test_int_and_string_ports_hash_apart() -> None:
    """An IntOrString holds its type: port 8080 and port "8080" are different Go values."""
    assert compute_hash(_template("p", readinessProbe={"httpGet": {"port": 8080}}), None) == "5f7944b7f9"
    assert compute_hash(_template("p", readinessProbe={"httpGet": {"port": "8080"}}), None) == "86f4cff76d"
