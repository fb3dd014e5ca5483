"""`kubeshim flyte up | config | task-env`: the command-line face of local Flyte."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from shim.cli.flyte.settings import DEFAULT_DOMAINS, DEFAULT_NAMESPACE_TEMPLATE, FlytePorts, FlyteSettings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Local Flyte: kubeshim + PostgreSQL + an S3 store + the stock Flyte single binary.")

DataDir = typer.Option(None, help="State directory (default $KUBESHIM_HOME or ~/.kubeshim)")
Port = typer.Option(6443, "--port", help="kubeshim API port")
FlytePort = typer.Option(30080, "--flyte-port", help="First of Flyte's five ports: flyteadmin HTTP, flyteadmin gRPC "
                         "(+1), datacatalog gRPC (+2), datacatalog HTTP (+3), profiler (+4)")
PostgresPort = typer.Option(30001, "--postgres-port", help="Port of the embedded PostgreSQL (loopback)")
S3Port = typer.Option(30002, "--s3-port", help="Port of the embedded object store (loopback)")
DatabaseUrl = typer.Option(None, "--database-url", help="Use this PostgreSQL (postgres://user:pw@host:5432/flyte) "
                           "instead of the embedded one")
S3Endpoint = typer.Option(None, "--s3-endpoint", help="Use this S3-compatible store (http://host:port) instead of "
                          "the embedded one")
S3AccessKey = typer.Option(None, "--s3-access-key", envvar="KUBESHIM_S3_ACCESS_KEY", help="With --s3-endpoint")
S3SecretKey = typer.Option(None, "--s3-secret-key", envvar="KUBESHIM_S3_SECRET_KEY", help="With --s3-endpoint")
Bucket = typer.Option("flyte-data", "--bucket", help="Bucket for Flyte's metadata and raw data")
FlyteBin = typer.Option(None, "--flyte-bin", help="The Flyte single binary (default: $KUBESHIM_FLYTE_BIN, `flyte` "
                        "on PATH, or examples/flyte/build.sh's output)")
TaskVenv = typer.Option(None, "--task-venv", help="flytekit virtualenv for task pods (default: made on first use "
                        "under ~/.cache/kubeshim/flyte/task-venv)")
NamespaceTemplate = typer.Option(DEFAULT_NAMESPACE_TEMPLATE, "--namespace-template",
                                 help="Namespace of a project's domain, e.g. '103020-flytepoc-{{ project }}-{{ "
                                 "domain }}'")
Domains = typer.Option(",".join(DEFAULT_DOMAINS), "--domains", help="Comma-separated Flyte domains")
Projects = typer.Option(["flytesnacks"], "--project", help="Project created at start (repeatable)")
Templates = typer.Option(None, "--cluster-resource-templates", exists=True, file_okay=False,
                         help="Directory of extra cluster resource templates (YAML) rendered per project and domain")
KubeletConfig = typer.Option(None, "--kubelet-config", exists=True, dir_okay=False,
                             help="Extra kubelet settings (image rules first in line)")


def _settings(data_dir: Optional[Path], port: int, flyte_port: int, postgres_port: int, s3_port: int,
              database_url: Optional[str], s3_endpoint: Optional[str], s3_access_key: Optional[str],
              s3_secret_key: Optional[str], bucket: str, flyte_bin: Optional[str], task_venv: Optional[Path],
              namespace_template: str, domains: str, projects: list[str], templates: Optional[Path],
              kubelet_config: Optional[Path]) -> FlyteSettings:
    from shim.cli.main import default_data_dir
    names = tuple(d.strip() for d in domains.split(",") if d.strip())
    if not names:
        raise typer.BadParameter("name at least one domain", param_hint="--domains")
    if s3_endpoint and not (s3_access_key and s3_secret_key):
        raise typer.BadParameter("--s3-endpoint needs --s3-access-key and --s3-secret-key",
                                 param_hint="--s3-endpoint")
    return FlyteSettings(data_dir=(data_dir or default_data_dir()).resolve(), api_port=port,
                         flyte_ports=FlytePorts(flyte_port), postgres_port=postgres_port, s3_port=s3_port,
                         database_url=database_url, s3_endpoint=s3_endpoint, s3_access_key=s3_access_key,
                         s3_secret_key=s3_secret_key, bucket=bucket, flyte_bin=flyte_bin,
                         task_venv=task_venv.resolve() if task_venv else None, namespace_template=namespace_template,
                         domains=names, projects=tuple(projects), cluster_resource_templates=templates,
                         kubelet_config=kubelet_config)


@app.command()
def up(data_dir: Optional[Path] = DataDir, port: int = Port, flyte_port: int = FlytePort,
       postgres_port: int = PostgresPort, s3_port: int = S3Port, database_url: Optional[str] = DatabaseUrl,
       s3_endpoint: Optional[str] = S3Endpoint, s3_access_key: Optional[str] = S3AccessKey,
       s3_secret_key: Optional[str] = S3SecretKey, bucket: str = Bucket, flyte_bin: Optional[str] = FlyteBin,
       task_venv: Optional[Path] = TaskVenv, namespace_template: str = NamespaceTemplate, domains: str = Domains,
       project: list[str] = Projects, cluster_resource_templates: Optional[Path] = Templates,
       kubelet_config: Optional[Path] = KubeletConfig) -> None:
    """Run kubeshim, PostgreSQL, an object store and Flyte in the foreground (Ctrl-C stops them all)."""
    from shim.cli.flyte.up import run
    settings = _settings(data_dir, port, flyte_port, postgres_port, s3_port, database_url, s3_endpoint,
                         s3_access_key, s3_secret_key, bucket, flyte_bin, task_venv, namespace_template, domains,
                         project, cluster_resource_templates, kubelet_config)
    raise typer.Exit(run(settings))


@app.command("config")
def show_config(data_dir: Optional[Path] = DataDir, port: int = Port, flyte_port: int = FlytePort,
                postgres_port: int = PostgresPort, s3_port: int = S3Port, database_url: Optional[str] = DatabaseUrl,
                s3_endpoint: Optional[str] = S3Endpoint, s3_access_key: Optional[str] = S3AccessKey,
                s3_secret_key: Optional[str] = S3SecretKey, bucket: str = Bucket,
                namespace_template: str = NamespaceTemplate, domains: str = Domains,
                project: list[str] = Projects) -> None:
    """Print the Flyte single binary's config that `kubeshim flyte up` generates, for running Flyte yourself
    against `kubeshim up` (the embedded Postgres/object-store credentials are those of DATA_DIR)."""
    import yaml

    from shim.cli.flyte import config, objectstore, postgres
    from shim.cli.flyte.processes import StartError
    s = _settings(data_dir, port, flyte_port, postgres_port, s3_port, database_url, s3_endpoint, s3_access_key,
                  s3_secret_key, bucket, None, None, namespace_template, domains, project, None, None)
    try:
        if s.database_url:
            db = postgres.Database.from_url(s.database_url)
        else:
            password = s.flyte_dir / "postgres" / "password"
            db = postgres.Database("127.0.0.1", s.postgres_port, "postgres",
                                   password.read_text().strip() if password.exists() else "", postgres.DATABASE)
    except StartError as err:
        typer.echo(f"kubeshim flyte config: {err}", err=True)
        raise typer.Exit(1) from None
    if s.s3_endpoint:
        store = objectstore.ObjectStore(s.s3_endpoint, s.s3_access_key or "", s.s3_secret_key or "", s.bucket)
    else:
        access, secret = objectstore.credentials(s.flyte_dir / "s3")
        store = objectstore.ObjectStore(f"http://127.0.0.1:{s.s3_port}", access, secret, s.bucket)
    typer.echo(yaml.safe_dump(config.flyte_config(s, db, store), sort_keys=False), nl=False)


@app.command("task-env")
def task_env(task_venv: Optional[Path] = TaskVenv) -> None:
    """Make (once) the flytekit virtualenv task pods run in, and print its path."""
    from shim.cli.flyte import taskenv
    try:
        venv = taskenv.ensure(task_venv or taskenv.default_path(),
                              lambda line: print(line, file=sys.stderr, flush=True))
    except taskenv.TaskEnvError as err:
        typer.echo(f"kubeshim flyte task-env: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(venv))
