"""`kubectl get` tables: the columns and cells the server prints per kind, as upstream's printers do."""
from __future__ import annotations

import json

import pytest
import yaml

from kubectl_helpers import Kubectl, header, row, table, unique

pytestmark = pytest.mark.kubectl


def pod(name: str, namespace: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": ["sleep", "60"]}],
                     **spec}}


def test_get_pods_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(pod("web", ns))
    out = kubectl.ok("get", "pods", "-n", ns)
    assert header(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    cells = row(out, "web")
    assert (cells["READY"], cells["STATUS"], cells["RESTARTS"]) == ("0/1", "Pending", "0")
    assert cells["AGE"].endswith(("s", "m"))


def test_get_pods_wide_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(pod("wide", ns, readinessGates=[{"conditionType": "example.com/ready"}]))
    out = kubectl.ok("get", "pods", "-n", ns, "-o", "wide")
    assert header(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                           "READINESS GATES"]
    cells = row(out, "wide")
    assert (cells["IP"], cells["NODE"], cells["NOMINATED NODE"], cells["READINESS GATES"]) == \
        ("<none>", "<none>", "<none>", "0/1")


def test_get_pods_status_reflects_container_states(kubectl: Kubectl, ns: str) -> None:
    """READY, STATUS and RESTARTS come from status as a kubelet writes it (printPod's rules)."""
    kubectl.create(pod("crashing", ns))
    status = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                         "containerStatuses": [{
                             "name": "main", "image": "python:3.11", "imageID": "", "ready": False,
                             "restartCount": 3, "started": False,
                             "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                             "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                          "startedAt": "2024-01-01T00:00:00Z",
                                                          "finishedAt": "2024-01-01T00:00:01Z"}}}]}}
    kubectl.ok("patch", "pod", "crashing", "-n", ns, "--subresource=status", "--type=merge",
               "-p", json.dumps(status))
    cells = row(kubectl.ok("get", "pods", "-n", ns), "crashing")
    assert cells["READY"] == "0/1"
    assert cells["STATUS"] == "CrashLoopBackOff"
    assert cells["RESTARTS"].startswith("3 (") and cells["RESTARTS"].endswith(" ago)")


def test_get_namespaces_columns(kubectl: Kubectl, ns: str) -> None:
    out = kubectl.ok("get", "namespaces")
    assert header(out) == ["NAME", "STATUS", "AGE"]
    assert row(out, ns)["STATUS"] == "Active"
    assert row(out, "kube-system")["STATUS"] == "Active"


def test_get_nodes_columns(kubectl: Kubectl) -> None:
    name = unique("node")
    kubectl.create({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}}})
    try:
        out = kubectl.ok("get", "nodes", name)
        assert header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        assert (row(out, name)["STATUS"], row(out, name)["ROLES"]) == ("Unknown", "worker")
    finally:
        kubectl.ok("delete", "node", name)


def test_get_nodes_wide_columns(kubectl: Kubectl) -> None:
    name = unique("node")
    kubectl.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    try:
        status = {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok",
                            "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                            "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.1.2.3"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.34.1", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
                         "containerRuntimeVersion": "kubeshim://0.1.0", "machineID": "", "systemUUID": "",
                         "bootID": "", "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64"}}}
        kubectl.ok("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))
        out = kubectl.ok("get", "nodes", name, "-o", "wide")
        assert header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                               "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
        cells = row(out, name)
        assert (cells["STATUS"], cells["ROLES"], cells["VERSION"], cells["INTERNAL-IP"], cells["EXTERNAL-IP"],
                cells["OS-IMAGE"], cells["KERNEL-VERSION"], cells["CONTAINER-RUNTIME"]) == \
            ("Ready", "<none>", "v1.34.1", "10.1.2.3", "<none>", "Debian GNU/Linux 12", "6.1.0", "kubeshim://0.1.0")
    finally:
        kubectl.ok("delete", "node", name)


def test_get_events_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev1", "namespace": ns},
                    "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns},
                    "reason": "Started", "message": "Started container main ", "type": "Normal",
                    "source": {"component": "kubelet", "host": "node-1"}})
    out = kubectl.ok("get", "events", "-n", ns)
    assert table(out) == [["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
                          [table(out)[1][0], "Normal", "Started", "pod/web", "Started container main"]]


def test_get_events_wide_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev2", "namespace": ns},
                    "involvedObject": {"kind": "Pod", "name": "web", "namespace": ns,
                                       "fieldPath": "spec.containers{main}"},
                    "reason": "Pulled", "message": "pulled", "type": "Normal", "count": 4,
                    "source": {"component": "kubelet", "host": "node-1"}})
    out = kubectl.ok("get", "events", "-n", ns, "-o", "wide")
    assert header(out) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
                           "FIRST SEEN", "COUNT", "NAME"]
    cells = dict(zip(header(out), table(out)[1], strict=False))
    assert (cells["SUBOBJECT"], cells["SOURCE"], cells["MESSAGE"], cells["COUNT"], cells["NAME"]) == \
        ("spec.containers{main}", "kubelet, node-1", "pulled", "4", "ev2")


def test_get_leases_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "leader", "namespace": ns},
                    "spec": {"holderIdentity": "manager-1", "leaseDurationSeconds": 15}})
    out = kubectl.ok("get", "leases", "-n", ns)
    assert header(out) == ["NAME", "HOLDER", "AGE"]
    assert row(out, "leader")["HOLDER"] == "manager-1"


def test_get_services_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080},
                                                                   {"port": 443, "protocol": "TCP"}]}})
    out = kubectl.ok("get", "services", "-n", ns, "-o", "wide")
    assert header(out) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    cells = row(out, "web")
    cluster_ip = kubectl.ok("get", "svc", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}")
    assert (cells["TYPE"], cells["CLUSTER-IP"], cells["EXTERNAL-IP"], cells["PORT(S)"], cells["SELECTOR"]) == \
        ("ClusterIP", cluster_ip, "<none>", "80/TCP,443/TCP", "app=web")


def test_get_configmaps_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "conf", "-n", ns, "--from-literal=a=1", "--from-literal=b=2")
    out = kubectl.ok("get", "configmaps", "-n", ns)
    assert header(out) == ["NAME", "DATA", "AGE"]
    assert row(out, "conf")["DATA"] == "2"


def test_get_secrets_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "secret", "generic", "creds", "-n", ns, "--from-literal=user=u", "--from-literal=pw=p")
    out = kubectl.ok("get", "secrets", "-n", ns)
    assert header(out) == ["NAME", "TYPE", "DATA", "AGE"]
    assert (row(out, "creds")["TYPE"], row(out, "creds")["DATA"]) == ("Opaque", "2")


def test_get_serviceaccounts_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "serviceaccount", "robot", "-n", ns)
    out = kubectl.ok("get", "serviceaccounts", "robot", "-n", ns)
    assert header(out) == ["NAME", "SECRETS", "AGE"]
    assert row(out, "robot")["SECRETS"] == "0"


def test_get_crds_columns(kubectl: Kubectl) -> None:
    out = kubectl.ok("get", "crds")
    assert header(out) == ["NAME", "CREATED AT"]
    created = kubectl.ok("get", "crd", "flyteworkflows.flyte.lyft.com", "-o",
                         "jsonpath={.metadata.creationTimestamp}")
    assert row(out, "flyteworkflows.flyte.lyft.com")["CREATED AT"] == created


def test_get_custom_resources_use_printer_columns(kubectl: Kubectl, ns: str) -> None:
    group = f"{unique('cols')}.example.com"
    kubectl.create({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}},
                               "additionalPrinterColumns": [
                                   {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                   {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}})
    try:
        kubectl.ok("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=20s")
        manifest = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1", "namespace": ns},
                    "spec": {"size": 7}}
        for _ in range(5):  # kubectl maps the new kind after refreshing its discovery cache
            if kubectl.run("create", "-f", "-", input=yaml.safe_dump(manifest)).returncode == 0:
                break
        out = kubectl.ok("get", f"gadgets.{group}", "-n", ns)
        assert header(out) == ["NAME", "SIZE", "AGE"]
        assert row(out, "g1")["SIZE"] == "7"
    finally:
        kubectl.run("delete", "crd", f"gadgets.{group}")
