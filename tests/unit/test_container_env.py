"""A container's environment and command line (env, envFrom, downward fields, $(VAR) expansion), without
running it; tests/kubelet/test_env.py runs a real process that sees them."""
from __future__ import annotations

import base64

import pytest

from shim.kubelet.runtime.env import ConfigError, container_argv, container_env
from shim.kubelet.runtime.expand import expand
from shim.kubelet.sources import PodSources

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"},
                    "annotations": {"a/b": "x"}},
       "spec": {"nodeName": "kubeshim", "serviceAccountName": "sa",
                "containers": [{"name": "c", "resources": {"limits": {"cpu": "1500m", "memory": "64Mi"},
                                                           "requests": {"cpu": "250m"}}}]}}


@pytest.mark.parametrize("text,expected", [
    ("$(A)", "1"), ("$(A)-$(B)", "1-two"), ("$$(A)", "$(A)"), ("$(MISSING)", "$(MISSING)"), ("$$", "$"),
    ("a$b", "a$b"), ("$(", "$("), ("$(A", "$(A"), ("x$", "x$"), ("$()", "$()"), ("$( $$", "$( $"),
])
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "two"}) == expected


def test_env_sources_and_order() -> None:
    cm = {"data": {"K1": "from-cm", "SHARED": "cm"}}
    secret = {"data": {"PASSWORD": base64.b64encode(b"s3cret").decode(), "SHARED": base64.b64encode(b"sec").decode()}}
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "sec"}, "prefix": "S_"},
                    {"configMapRef": {"name": "gone", "optional": True}}],
        "env": [
            {"name": "PLAIN", "value": "v-$(K1)"},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "ANN", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['a/b']"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "HOSTIP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {"name": "CPU_REQ_M", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
            {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "MEM_DEFAULT", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASSWORD"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nope", "optional": True}}},
        ],
    }
    env = container_env(POD, container, PodSources({"cm": cm, "gone": None}, {"sec": secret}), {"PATH": "/bin"})
    assert env["K1"] == "from-cm" and env["SHARED"] == "cm" and env["S_SHARED"] == "sec"
    assert env["S_PASSWORD"] == "s3cret" and env["PW"] == "s3cret"
    assert env["PLAIN"] == "v-from-cm"
    assert (env["NAME"], env["NS"], env["UID"], env["APP"], env["ANN"]) == ("p", "ns", "u-1", "web", "x")
    assert (env["NODE"], env["SA"], env["IP"], env["HOSTIP"]) == ("kubeshim", "sa", "127.0.0.1", "127.0.0.1")
    assert (env["CPU_LIMIT"], env["CPU_REQ_M"], env["MEM_MI"]) == ("2", "250", "64")
    assert env["MEM_DEFAULT"] == str(64 * 2**20)  # requests default to limits
    assert "OPT" not in env
    assert list(env)[0] == "PATH"


@pytest.mark.parametrize("env,message", [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nope"}}}],
     "couldn't find key nope in ConfigMap ns/cm"),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k"}}}], 'secret "missing" not found'),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}}],
     "couldn't find key k in Secret ns/sec"),
])
def test_env_errors(env: list, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        container_env(POD, {"name": "c", "env": env}, PodSources({"cm": {"data": {}}}, {"sec": {"data": {}}}))
    assert str(err.value) == message


def test_argv_expansion() -> None:
    c = {"command": ["echo", "$(GREETING)"], "args": ["$(WHO)", "$$(WHO)", "$(NOPE)"]}
    assert container_argv(c, {"GREETING": "hello", "WHO": "world"}) == ["echo", "hello", "world", "$(WHO)", "$(NOPE)"]


def test_without_a_command_the_image_entrypoint_runs_with_the_container_args() -> None:
    c = {"name": "c", "image": "agnhost", "args": ["netexec", "--http-port=$(PORT)"]}
    assert container_argv(c, {"PORT": "8080"}, ("agnhost",), ("pause",)) == ["agnhost", "netexec", "--http-port=8080"]


def test_without_command_or_args_the_image_entrypoint_runs_with_its_default_args() -> None:
    assert container_argv({"name": "c", "image": "agnhost"}, {}, ("agnhost",), ("pause",)) == ["agnhost", "pause"]


def test_a_command_replaces_the_image_entrypoint_and_its_default_args() -> None:
    c = {"name": "c", "image": "agnhost", "command": ["sh", "-c", "true"]}
    assert container_argv(c, {}, ("agnhost",), ("pause",)) == ["sh", "-c", "true"]
