"""What `kubeshim flyte up` and `kubeshim flyte config` are told, and the paths and ports that follow."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DOMAINS = ("development", "staging", "production")
DEFAULT_NAMESPACE_TEMPLATE = "{{ project }}-{{ domain }}"


def cache_dir() -> Path:
    """What is built or installed once and shared by every data dir: the task virtualenv, versitygw, the Flyte
    binary of examples/flyte/build.sh ($XDG_CACHE_HOME/kubeshim, else ~/.cache/kubeshim)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubeshim"


@dataclass(frozen=True)
class FlytePorts:
    """Flyte's six listening ports, consecutive from a base (as Flyte's sandbox keeps its own near 30080)."""

    base: int = 30080

    @property
    def admin_http(self) -> int:
        return self.base

    @property
    def admin_grpc(self) -> int:
        return self.base + 1

    @property
    def datacatalog_grpc(self) -> int:
        return self.base + 2

    @property
    def datacatalog_http(self) -> int:
        return self.base + 3

    @property
    def profiler(self) -> int:
        return self.base + 4

    @property
    def pod_webhook(self) -> int:
        """propeller's pod webhook (secret injection), which kube-apiserver calls over HTTPS."""
        return self.base + 5

    def named(self) -> dict[str, int]:
        return {"flyteadmin HTTP": self.admin_http, "flyteadmin gRPC": self.admin_grpc,
                "datacatalog gRPC": self.datacatalog_grpc, "datacatalog HTTP": self.datacatalog_http,
                "Flyte profiler": self.profiler, "propeller pod webhook": self.pod_webhook}


@dataclass(frozen=True)
class FlyteSettings:
    data_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 6443
    flyte_ports: FlytePorts = field(default_factory=FlytePorts)
    postgres_port: int = 30001
    s3_port: int = 30002
    database_url: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    bucket: str = "flyte-data"
    flyte_bin: str | None = None
    task_venv: Path | None = None
    namespace_template: str = DEFAULT_NAMESPACE_TEMPLATE
    domains: tuple[str, ...] = DEFAULT_DOMAINS
    projects: tuple[str, ...] = ("flytesnacks",)
    cluster_resource_templates: Path | None = None
    kubelet_config: Path | None = None
    write_user_config: bool = True

    @property
    def flyte_dir(self) -> Path:
        """Everything of Flyte's under kubeshim's data dir: configs, logs, Postgres and object-store data."""
        return self.data_dir / "flyte"

    @property
    def log_dir(self) -> Path:
        return self.flyte_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.flyte_dir / "flyte.yaml"

    @property
    def flytekit_config_path(self) -> Path:
        return self.flyte_dir / "flytekit.yaml"

    @property
    def templates_dir(self) -> Path:
        return self.flyte_dir / "cluster-resource-templates"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def api_url(self) -> str:
        return f"https://{self.host}:{self.api_port}"

    def log_template(self) -> str:
        """Flyte's task log link: kubeshim's log page of the pod's container."""
        return f"{self.api_url}/logs/{{{{ .namespace }}}}/{{{{ .podName }}}}/{{{{ .containerName }}}}"
