"""`kubeshim flyte up`: kubeshim, PostgreSQL, an S3 store and the stock Flyte single binary, in the foreground.

Start order follows dependencies (databases, kubeshim, then Flyte); stop order is the reverse, each component
waited for and killed after its grace period (the Flyte binary does not exit on SIGTERM at all, so it stops
first and gets SIGKILL after a short grace). Any failure before everything is ready stops what was started
and ends with one line. A second `kubeshim flyte up` on the same data dir resumes: Postgres and the object
store keep their data, kubeshim re-adopts the task pods that kept running, propeller picks up the executions.
"""
from __future__ import annotations

import os
import signal
import ssl
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

from shim.cli.flyte import config, flytebin, objectstore, postgres, taskenv, webhook
from shim.cli.flyte.objectstore import ObjectStore
from shim.cli.flyte.postgres import Database
from shim.cli.flyte.processes import Child, StartError, port_in_use, tcp_open
from shim.cli.flyte.settings import FlyteSettings, cache_dir
from shim.server.sessions import login_url


class Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def say(line: str) -> None:
    print(f"kubeshim flyte: {line}", file=sys.stderr, flush=True)


def run(s: FlyteSettings) -> int:
    """Bring everything up, wait for a signal or a component's death, stop everything; the exit status."""
    children: list[Child] = []

    def interrupted(signum: int, frame: object) -> None:
        raise Stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupted)
    status = 0
    try:
        _start(s, children)
        status = _watch(children)
    except Stop:
        say("stopping")
    except (StartError, taskenv.TaskEnvError) as err:
        print(f"kubeshim flyte up: {err}", file=sys.stderr, flush=True)
        status = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        _stop(children)
    return status


def _start(s: FlyteSettings, children: list[Child]) -> None:
    started = time.monotonic()
    flyte_bin = _preflight(s)
    s.flyte_dir.mkdir(parents=True, exist_ok=True)
    venv = taskenv.ensure(s.task_venv or taskenv.default_path(), say)
    kubelet_settings = config.kubelet_config(s, venv)  # a bad --kubelet-config is refused before anything starts

    db: Database
    if s.database_url:
        db = Database.from_url(s.database_url)
    else:
        child, db = postgres.embedded(s.flyte_dir / "postgres", s.postgres_port, s.log_dir)
        _launch(child, children, 60, f"PostgreSQL on 127.0.0.1:{s.postgres_port}")
    postgres.ensure_database(db)

    store: ObjectStore
    if s.s3_endpoint:
        store = ObjectStore(s.s3_endpoint, s.s3_access_key or "", s.s3_secret_key or "", s.bucket)
    else:
        binary = objectstore.versitygw_binary(cache_dir() / "bin", say)
        child, store = objectstore.embedded(s.flyte_dir / "s3", s.s3_port, s.bucket, binary, s.log_dir)
        _launch(child, children, 30, f"object store (versitygw) on {store.endpoint}")
    objectstore.ensure_bucket(store)

    kubelet = config.write_yaml(s.flyte_dir / "kubelet.yaml", kubelet_settings)
    kubeshim = Child("kubeshim", [sys.executable, "-m", "shim", "up", "--data-dir", str(s.data_dir),
                                  "--host", s.host, "--port", str(s.api_port), "--kubelet-config", str(kubelet),
                                  "--log-level", "info"],
                     s.log_dir / "kubeshim.log", ready=lambda: _https_ok(f"{s.api_url}/readyz") and
                     s.kubeconfig.exists(), env={**os.environ, "PYTHONUNBUFFERED": "1"}, grace=20)
    _launch(kubeshim, children, 60, f"kubeshim API on {s.api_url} (kubeconfig {s.kubeconfig})")

    config.write_templates(s)
    webhook.ensure_service(s)
    flyte_config = config.write_yaml(s.config_path, config.flyte_config(s, db, store))
    ports = s.flyte_ports
    # The single binary lets SIGTERM and SIGINT pass without exiting (measured: still running 15 s later, its
    # database up or not), and it keeps nothing in memory worth waiting for (admin's state is in Postgres,
    # propeller's in the API server): a short grace, then SIGKILL.
    flyte = Child("flyte", [flyte_bin, "start", "--config", str(flyte_config)], s.log_dir / "flyte.log",
                  ready=lambda: _http_ok(f"http://127.0.0.1:{ports.admin_http}/healthcheck"), grace=3,
                  env={**os.environ, "KUBECONFIG": str(s.kubeconfig), "POD_NAMESPACE": webhook.NAMESPACE})
    _launch(flyte, children, 120, f"flyteadmin on http://127.0.0.1:{ports.admin_http} "
            f"(gRPC 127.0.0.1:{ports.admin_grpc})")
    _wait(flyte, lambda: tcp_open(ports.datacatalog_grpc), 60)
    say(f"ready: datacatalog on 127.0.0.1:{ports.datacatalog_grpc}")
    _wait(flyte, lambda: _http_ok(f"http://127.0.0.1:{ports.profiler}/healthcheck"), 60)
    say("ready: flytepropeller (watching FlyteWorkflows)")

    flytekit = config.write_yaml(s.flytekit_config_path, config.flytekit_config(s, store))
    user_config = Path.home() / ".flyte" / "config.yaml"
    if s.write_user_config and not user_config.exists():
        config.write_yaml(user_config, config.flytekit_config(s, store))
    say(f"all ready in {time.monotonic() - started:.1f} s")
    print(_usage(s, venv, flytekit, user_config), file=sys.stderr, flush=True)


def _preflight(s: FlyteSettings) -> str:
    """What can be refused before anything starts: a missing binary, taken ports, a bad --database-url."""
    binary, where = flytebin.find(s.flyte_bin)
    if binary is None:
        raise StartError(f"{where}: {flytebin.HOW_TO_GET}")
    if s.database_url:
        Database.from_url(s.database_url)
    wanted = {"kubeshim API (--port)": s.api_port,
              **{f"{name} (--flyte-port)": port for name, port in s.flyte_ports.named().items()}}
    if not s.database_url:
        wanted["PostgreSQL (--postgres-port)"] = s.postgres_port
    if not s.s3_endpoint:
        wanted["object store (--s3-port)"] = s.s3_port
    by_port: dict[int, str] = {}
    for name, port in wanted.items():
        if port in by_port:
            raise StartError(f"port {port} is given to both the {by_port[port]} and the {name}")
        by_port[port] = name
    for name, port in wanted.items():
        if port_in_use(port, s.host):
            raise StartError(f"port {port} for the {name} is already in use")
    return binary


def _launch(child: Child, children: list[Child], timeout: float, ready: str) -> None:
    children.append(child)
    child.start()
    child.wait_ready(timeout)
    say(f"ready: {ready}")


def _wait(child: Child, check: Callable[[], bool], timeout: float) -> None:
    Child(child.name, [], child.log_path, check, process=child.process).wait_ready(timeout)


def _watch(children: list[Child]) -> int:
    """Until a signal: a component that dies takes everything down (exit status 1)."""
    while True:
        for child in children:
            if not child.running():
                code = child.process.returncode if child.process else None
                print(f"kubeshim flyte up: {child.name} exited with status {code}; its log: {child.log_path}",
                      file=sys.stderr, flush=True)
                return 1
        time.sleep(0.5)


def _stop(children: list[Child]) -> None:
    for child in reversed(children):
        if child.running():
            say(f"stopping {child.name}")
        child.stop()


def _https_ok(url: str) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _usage(s: FlyteSettings, venv: Path, flytekit: Path, user_config: Path) -> str:
    return "\n".join([
        "",
        f"  pyflyte:    {venv / 'bin' / 'pyflyte'} --config {flytekit} run --remote my_module.py my_workflow",
        f"  flytekit:   {flytekit}" + (f" (also {user_config})" if user_config.exists() else ""),
        f"  kubectl:    KUBECONFIG={s.kubeconfig} kubectl get pods -A",
        f"  task logs:  {login_url(s.data_dir, s.api_url)}  (opens the log pages Flyte links to)",
        f"  components: {s.log_dir}",
        "  stop:       Ctrl-C",
        "",
    ])
