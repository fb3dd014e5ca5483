"""What pods/exec, pods/attach and pods/portforward share: the connect verb's options and checks, and the session
each hands to the server, which speaks the streaming protocol (shim.server.streaming).

Upstream's handlers are `rest.Connecter`s: the API server checks the pod and options, then proxies the upgraded
connection to the kubelet. Here the kubelet of this process is reached through the registry's services instead of
a second connection; what the client sees is the same.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.services import DialPod, Starter
from shim.registry.strategy import Obj

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs

#: a connect request's query: every value of every parameter
Query = Mapping[str, Sequence[str]]


@dataclass
class RemoteCommand:
    """An exec or attach, checked (its container runs): the streams asked for, the TTY, and how to start it once
    they are open (the command's first output and terminal size then reach the client)."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    start: Starter
    #: what runs: the exec's command ([] for attach), quoted in the Status of a non-zero exit
    command: list[str]


@dataclass
class PortForward:
    """A port-forward, checked: the ports a WebSocket client named, and how to reach one of the pod's ports."""

    pod: Obj
    ports: list[int]
    dial: DialPod


def flag(query: Query, name: str) -> bool:
    """A bool option as upstream's query conversion reads it: absent, "0" or "false" is false, anything else true."""
    values = query.get(name) or []
    return bool(values) and values[0] != "0" and values[0].lower() != "false"


def scheduled_pod(verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
    """The pod, which must be on a node that exists (pod/strategy.go's streamLocation: the node's connection info
    is looked up before anything is proxied; its NotFound names the node as `pods`, as upstream's node getter,
    which shares the pod storage's resource name, words it)."""
    pod = verbs.registry.get(info, namespace, name)
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    try:
        verbs.registry.get(verbs.resource("", "v1", "nodes"), "", node)
    except errors.StatusError as err:
        if err.code == 404:
            raise errors.not_found("pods", node) from None
        raise
    return pod


def container_of(pod: Obj, container: str) -> str:
    """The container a request names, or the pod's only one (pod/strategy.go's validateContainer)."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    names = [c.get("name", "") for key in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(key) or []]
    if not container:
        apps = spec.get("containers") or []
        if len(apps) == 1:
            only: str = apps[0].get("name", "")
            return only
        if not apps:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        raise errors.bad_request(f"a container name must be specified for pod {name}, "
                                 f"choose one of: [{' '.join(names)}]")
    if container not in names:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


def no_kubelet(pod: Obj) -> errors.StatusError:
    return errors.bad_request(f"pod {(pod.get('metadata') or {}).get('name', '')} cannot be reached: "
                              "no kubelet runs here")
