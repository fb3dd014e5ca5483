"""kubectl 1.33 scripts run against kube-apiserver and kubeshim at once; exit codes, stdout and stderr compared.

Every script works in the test's namespace (the same name on both servers); objects are read back with
`get -o json` after writes so that what the server stored, managedFields included, is compared too.
"""
from __future__ import annotations

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: web}
data:
  mode: fast
"""
CONFIGMAP_CHANGED = CONFIGMAP.replace("fast", "slow") + "  extra: one\n"
SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
"""


def test_kubectl_create_configmap_and_get_yaml(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("create", "-n", s.ns, "create", "configmap", "c1", "--from-literal=a=1", "--from-literal=b=2")
        s.kubectl("get-yaml", "-n", s.ns, "get", "configmap", "c1", "-o", "yaml", parse="yaml")
        s.kubectl("get-json", "-n", s.ns, "get", "configmap", "c1", "-o", "json", parse="json")
    pair.run(scenario)


def test_kubectl_run_pod_and_get_yaml(pair: Pair) -> None:
    """The pod as stored: defaults and what admission adds (service-account token volume, tolerations...)."""
    def scenario(s: Side) -> None:
        s.kubectl("run", "-n", s.ns, "run", "p", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "1")
        s.kubectl("get-yaml", "-n", s.ns, "get", "pod", "p", "-o", "yaml", parse="yaml")
    pair.run(scenario)


def test_kubectl_create_service_and_get_json(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("create", "-n", s.ns, "create", "service", "clusterip", "web", "--tcp=80:8080")
        s.kubectl("get-json", "-n", s.ns, "get", "service", "web", "-o", "json", parse="json")
    pair.run(scenario)


def test_kubectl_get_wide(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "run", "p", "--image=busybox:1.36", "--restart=Never", "-l", "app=web")
        s.kubectl(None, "-n", s.ns, "create", "-f", "-", input=SERVICE)
        s.kubectl("pods", "-n", s.ns, "get", "pods", "-o", "wide", parse="table")
        s.kubectl("services", "-n", s.ns, "get", "services", "-o", "wide", parse="table")
        s.kubectl("show-labels", "-n", s.ns, "get", "pods", "--show-labels", parse="table")
    pair.run(scenario)


def test_kubectl_get_custom_columns_name_and_jsonpath(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "-f", "-", input=CONFIGMAP)
        s.kubectl("custom-columns", "-n", s.ns, "get", "configmaps",
                  "-o", "custom-columns=NAME:.metadata.name,MODE:.data.mode,APP:.metadata.labels.app", parse="table")
        s.kubectl("name", "-n", s.ns, "get", "configmaps", "-o", "name")
        s.kubectl("jsonpath", "-n", s.ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}")
    pair.run(scenario)


def test_kubectl_client_side_apply(pair: Pair) -> None:
    """apply creates, then patches from the last-applied annotation; the stored object after each."""
    def scenario(s: Side) -> None:
        s.kubectl("apply-create", "-n", s.ns, "apply", "-f", "-", input=CONFIGMAP)
        s.kubectl("after-create", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
        s.kubectl("apply-update", "-n", s.ns, "apply", "-f", "-", input=CONFIGMAP_CHANGED)
        s.kubectl("after-update", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
        s.kubectl("apply-unchanged", "-n", s.ns, "apply", "-f", "-", input=CONFIGMAP_CHANGED)
    pair.run(scenario)


def test_kubectl_server_side_apply(pair: Pair) -> None:
    """Create, update, a conflict with another manager, and forcing it."""
    def scenario(s: Side) -> None:
        s.kubectl("apply", "-n", s.ns, "apply", "--server-side", "-f", "-", input=CONFIGMAP)
        s.kubectl("update", "-n", s.ns, "apply", "--server-side", "-f", "-", input=CONFIGMAP_CHANGED)
        s.kubectl("conflict", "-n", s.ns, "apply", "--server-side", "--field-manager=other", "-f", "-",
                  input=CONFIGMAP.replace("fast", "medium"))
        s.kubectl("force", "-n", s.ns, "apply", "--server-side", "--field-manager=other", "--force-conflicts",
                  "-f", "-", input=CONFIGMAP.replace("fast", "medium"))
        s.kubectl("stored", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
    pair.run(scenario)


def test_kubectl_server_side_apply_after_client_side(pair: Pair) -> None:
    """Moving an object from client-side to server-side apply: kubectl migrates the client-side manager's
    fields, the server must record them for the new manager (issue 10: managedFields upgrade)."""
    def scenario(s: Side) -> None:
        s.kubectl("client-side", "-n", s.ns, "apply", "-f", "-", input=CONFIGMAP)
        s.kubectl("server-side", "-n", s.ns, "apply", "--server-side", "-f", "-", input=CONFIGMAP_CHANGED)
        s.kubectl("stored", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
        s.kubectl("drop-field", "-n", s.ns, "apply", "--server-side", "-f", "-", input=CONFIGMAP)
        s.kubectl("after-drop", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
    pair.run(scenario)


@pytest.mark.parametrize("patch_type,patch", [
    ("strategic", '{"metadata":{"labels":{"tier":"front"}},"data":{"mode":"slow"}}'),
    ("merge", '{"metadata":{"labels":{"app":null}},"data":{"new":"x"}}'),
    ("json", '[{"op":"replace","path":"/data/mode","value":"slow"},{"op":"add","path":"/data/n","value":"1"}]'),
], ids=["strategic", "merge", "json"])
def test_kubectl_patch(pair: Pair, patch_type: str, patch: str) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "-f", "-", input=CONFIGMAP)
        s.kubectl("patch", "-n", s.ns, "patch", "configmap", "settings", "--type", patch_type, "-p", patch)
        s.kubectl("stored", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
        s.kubectl("bad-patch", "-n", s.ns, "patch", "configmap", "settings", "--type", patch_type, "-p", "{nope")
    pair.run(scenario)


def test_kubectl_label_and_annotate(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "-f", "-", input=CONFIGMAP)
        s.kubectl("label", "-n", s.ns, "label", "configmap", "settings", "tier=front")
        s.kubectl("label-again", "-n", s.ns, "label", "configmap", "settings", "tier=back")
        s.kubectl("label-overwrite", "-n", s.ns, "label", "configmap", "settings", "tier=back", "--overwrite")
        s.kubectl("unlabel", "-n", s.ns, "label", "configmap", "settings", "app-")
        s.kubectl("annotate", "-n", s.ns, "annotate", "configmap", "settings", "note=hello world")
        s.kubectl("by-selector", "-n", s.ns, "get", "configmaps", "-l", "tier in (back,side)", "-o", "name")
        s.kubectl("stored", "-n", s.ns, "get", "configmap", "settings", "-o", "json", parse="json")
    pair.run(scenario)


def test_kubectl_delete(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        for name in ("a", "b", "c"):
            s.kubectl(None, "-n", s.ns, "create", "configmap", name, f"--from-literal=k={name}")
        s.kubectl(None, "-n", s.ns, "label", "configmap", "b", "c", "gone=yes")
        s.kubectl("by-name", "-n", s.ns, "delete", "configmap", "a")
        s.kubectl("by-label", "-n", s.ns, "delete", "configmaps", "-l", "gone=yes")
        s.kubectl("missing", "-n", s.ns, "delete", "configmap", "a")
        s.kubectl("ignore-not-found", "-n", s.ns, "delete", "configmap", "a", "--ignore-not-found")
        s.kubectl("left", "-n", s.ns, "get", "configmaps", "-o", "name")
    pair.run(scenario)


def test_kubectl_wait(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "-f", "-", input=CONFIGMAP)
        s.kubectl("jsonpath", "-n", s.ns, "wait", "configmap/settings", "--for=jsonpath={.data.mode}=fast",
                  "--timeout=20s")
        s.kubectl("create", "-n", s.ns, "wait", "configmap/settings", "--for=create", "--timeout=20s")
        s.kubectl(None, "-n", s.ns, "run", "p", "--image=busybox:1.36", "--restart=Never")
        s.kubectl("delete-pod", "-n", s.ns, "delete", "pod", "p", "--wait=false")
        s.kubectl("for-delete", "-n", s.ns, "wait", "pod/p", "--for=delete", "--timeout=20s")
        s.kubectl("timeout", "-n", s.ns, "wait", "configmap/settings", "--for=jsonpath={.data.mode}=never",
                  "--timeout=1s")
    pair.run(scenario)


def test_kubectl_explain(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("field", "explain", "pods.spec.containers.ports")
        s.kubectl("kind", "explain", "configmap")
        s.kubectl("unknown", "explain", "pods.spec.nothing")
    pair.run(scenario)


def test_kubectl_auth_can_i(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "serviceaccount", "reader")
        s.kubectl("admin-create-pods", "-n", s.ns, "auth", "can-i", "create", "pods")
        s.kubectl("admin-everything", "auth", "can-i", "*", "*")
        s.kubectl("sa-list-pods", "-n", s.ns, "auth", "can-i", "list", "pods",
                  f"--as=system:serviceaccount:{s.ns}:reader")
        s.kubectl("whoami", "auth", "whoami", "-o", "json", parse="json")
    pair.run(scenario)


def test_kubectl_create_token(pair: Pair) -> None:
    """`kubectl create token`: kube-apiserver issues a JWT whose claims clients read (issue 10: tokens)."""
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "serviceaccount", "robot")
        s.kubectl("token", "-n", s.ns, "create", "token", "robot", parse="token")
        s.kubectl("audience-duration", "-n", s.ns, "create", "token", "robot", "--audience=api",
                  "--duration=10m", parse="token")
        s.kubectl("missing-account", "-n", s.ns, "create", "token", "nobody", parse="token")
    pair.run(scenario)


@pytest.mark.parametrize("kind,args", [
    ("priorityclass", ("create", "priorityclass", "{ns}-high", "--value=1000", "--description=high")),
    ("poddisruptionbudget", ("-n", "{ns}", "create", "poddisruptionbudget", "pdb", "--selector=app=web",
                             "--min-available=1")),
    ("ingress", ("-n", "{ns}", "create", "ingress", "web", "--rule=example.com/=web:80")),
], ids=["priorityclass", "poddisruptionbudget", "ingress"])
def test_kubectl_create_kind(pair: Pair, kind: str, args: tuple[str, ...]) -> None:
    """Kinds every cluster serves (issue 10: PriorityClass, PodDisruptionBudget, Ingress)."""
    def scenario(s: Side) -> None:
        argv = [a.format(ns=s.ns) for a in args]
        s.kubectl("create", *argv)
        name = argv[argv.index(kind) + 1]
        namespace = ["-n", s.ns] if "-n" in argv else []
        s.kubectl("get", *namespace, "get", kind, name, "-o", "json", parse="json")
        s.kubectl(None, *namespace, "delete", kind, name)
    pair.run(scenario)


def test_kubectl_get_errors(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("missing-object", "-n", s.ns, "get", "configmap", "nothing")
        s.kubectl("unknown-type", "-n", s.ns, "get", "gizmos")
        s.kubectl("bad-label-selector", "-n", s.ns, "get", "configmaps", "-l", "a in (b")
        s.kubectl("unknown-field-selector", "-n", s.ns, "get", "configmaps", "--field-selector", "data.mode=fast")
        s.kubectl("bad-field-selector-op", "-n", s.ns, "get", "pods", "--field-selector", "status.phase>Running")
    pair.run(scenario)


def test_kubectl_server_dry_run_and_diff(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("dry-run-create", "-n", s.ns, "apply", "--dry-run=server", "-f", "-", "-o", "json",
                  input=CONFIGMAP, parse="json")
        s.kubectl("not-stored", "-n", s.ns, "get", "configmap", "settings")
        s.kubectl(None, "-n", s.ns, "apply", "--server-side", "-f", "-", input=CONFIGMAP)
        s.kubectl("diff", "-n", s.ns, "diff", "--server-side", "-f", "-", input=CONFIGMAP_CHANGED)
    pair.run(scenario)
