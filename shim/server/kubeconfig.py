"""The kubeconfig kubectl and client-go use as they are: CA data, server URL and the admin token."""
from __future__ import annotations

import base64
from pathlib import Path

import yaml


def render(server: str, ca_file: Path | None, token: str, name: str = "kubeshim") -> str:
    cluster: dict[str, str] = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_file.read_bytes()).decode()
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
           "clusters": [{"name": name, "cluster": cluster}],
           "users": [{"name": f"{name}-admin", "user": {"token": token}}],
           "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin",
                                                   "namespace": "default"}}]}
    text: str = yaml.safe_dump(doc, sort_keys=False)
    return text
