"""One task per pod bound to this node: make what runs match what the pod says, and report it.

Each `sync()` observes the runtime (exits), applies the state machine's plan (podstate.plan: start, kill),
and pushes the status when it changed. It is woken by pod updates, container exits, probe results and its own
timers (back-off, deadline, resync). Deletion: stop everything within the grace period (preStop exec hooks
first), report the final status, then delete the pod object with grace 0 and a uid precondition, as a real
kubelet does. When the object is gone, the pod directory (volumes, logs, checkpoint) goes too.
A worker sees its node only through a NodeContext (client, runtime provider, images, events, host paths), and
the ConfigMaps and Secrets a sync needs are fetched once for all its users (sources.SourcesOnce).
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from shim.clients.base import PODS
from shim.kubelet import checkpoint, dnsconfig, events, hostsfile, identity, podstate, sources as podsources
from shim.kubelet.images import ImagePullError
from shim.kubelet.logs import fallback_message
from shim.kubelet.nodecontext import NodeContext
from shim.kubelet.podstate import Backoff, ContainerRecord, PodRecord
from shim.kubelet.probes import ProbeTarget, run_probe
from shim.kubelet.resources import container_limits, container_requests
from shim.kubelet.runtime import mounts as mountlib
from shim.kubelet.runtime.env import ConfigError, container_argv, container_env
from shim.kubelet.runtime.expand import expand
from shim.kubelet.runtime.provider import ContainerSpec, Mount, Observed, exec_succeeds
from shim.kubelet.sources import PodSources, SourcesOnce
from shim.kubelet.timeutil import parse_time, rfc3339
from shim.kubelet.volumes import VolumeError, materialize
from shim.machinery import quantity
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
DEFAULT_GRACE = 30
#: Volumes the ServiceAccount admission plugin injects; failing to place them must not fail the pod.
BEST_EFFORT_VOLUME_PREFIX = "kube-api-access-"
HOSTS, RESOLV_CONF = "/etc/hosts", "/etc/resolv.conf"


def _meta(pod: dict[str, Any]) -> dict[str, Any]:
    return pod.get("metadata") or {}


def _revision(pod: dict[str, Any]) -> int:
    try:
        return int(_meta(pod).get("resourceVersion") or 0)
    except ValueError:  # a server with opaque resourceVersions: trust arrival order
        return 0


def all_containers(pod: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    return [(c, True) for c in podstate.init_containers(pod)] + [(c, False) for c in podstate.app_containers(pod)]


def mount_targets(pod: dict[str, Any]) -> set[str]:
    """Every host path this pod's containers may cover (for deciding when a shared mount point is free)."""
    out = set()
    for c, _ in all_containers(pod):
        for vm in c.get("volumeMounts") or []:
            out.add(os.path.normpath(vm.get("mountPath", "")))
        out.add(c.get("terminationMessagePath") or "/dev/termination-log")
    return out


def make_subpath(volume: str, sub: str) -> str:
    """The volume's subPath directory, made if missing with the volume's own mode (as upstream's SafeMakeDir),
    so that a user the volume lets write (emptyDir: anyone) may write through the subPath too."""
    path = os.path.join(volume, sub)
    if not os.path.lexists(path):
        mode = os.stat(volume).st_mode & 0o7777
        os.makedirs(path, exist_ok=True)
        parts = Path(sub).parts
        for i in range(len(parts)):
            os.chmod(os.path.join(volume, *parts[:i + 1]), mode)
    return path


class PodWorker:
    def __init__(self, node: NodeContext, pod: dict[str, Any]) -> None:
        self.node = node
        self.config = node.config
        self.client = node.client
        self.provider = node.provider
        self.pod = pod
        self._saved = b""  # the checkpoint as last written, to skip rewriting it unchanged
        self.uid: str = _meta(pod).get("uid", "")
        self.dir: Path = self.config.pod_dir(self.uid)
        self.record = PodRecord(self.uid, _meta(pod).get("namespace", ""), _meta(pod).get("name", ""))
        self.backoff = Backoff(self.config.backoff_base, self.config.backoff_max)
        self.changed = asyncio.Event()
        self.gone = False
        self.last_status: dict[str, Any] | None = None
        self.volumes: dict[str, str] = {}
        self.volumes_at = 0.0
        self.deleted_requested = False
        self._probes: dict[str, list[asyncio.Task[None]]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._kills: dict[str, tuple[asyncio.Task[None], float]] = {}
        #: Starts in progress (their mount points must not be released by another pod's teardown).
        self.starting = 0

    # -- inputs ---------------------------------------------------------------------------------------------
    def update(self, pod: dict[str, Any]) -> None:
        self._adopt_newer(pod)
        self.changed.set()

    def _adopt_newer(self, pod: dict[str, Any]) -> None:
        """Take `pod` unless what we hold is newer: a status write's response can resume after the informer
        already delivered a later version (say, the deletionTimestamp), which must not be overwritten."""
        if _revision(pod) >= _revision(self.pod):
            self.pod = pod

    def api_deleted(self) -> None:
        self.gone = True
        self.changed.set()

    @property
    def name(self) -> str:
        name: str = _meta(self.pod).get("name", "")
        return name

    @property
    def namespace(self) -> str:
        namespace: str = _meta(self.pod).get("namespace", "")
        return namespace

    def running(self) -> list[str]:
        return [n for n, r in self.record.containers.items() if r.current is not None and r.current.running]

    def covers(self, path: str) -> bool:
        """Does a running (or starting) container of this pod cover this host path or a path below it?"""
        if not (self.running() or self.starting):
            return False
        below = path.rstrip("/") + "/"
        return any(t == path or t.startswith(below) for t in mount_targets(self.pod))

    def own_path(self, path: str) -> None:
        """Take over the cleanup of a mount point another pod made and leaves while this one still covers it."""
        self._created(path)
        self.save()

    def idle(self) -> bool:
        """Finished for good: terminal phase, nothing running, stopping or starting."""
        phase = (self.pod.get("status") or {}).get("phase")
        return phase in podstate.TERMINAL and not self.running() and not self._kills and not self.starting \
            and not _meta(self.pod).get("deletionTimestamp")

    def save(self) -> None:
        self._saved = checkpoint.save(self.dir, self.record, self.pod, self._saved)

    # -- main loop ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            self.restore()
            while True:
                self.changed.clear()
                wake_at = None
                try:
                    done, wake_at = await self.sync()
                    if done:
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - keep the pod worker alive, retry soon
                    log.exception("sync of pod %s/%s failed", self.namespace, self.name)
                    wake_at = time.time() + min(1.0, self.config.resync_seconds)
                timeout: float | None = self.config.resync_seconds
                if self.idle():
                    timeout = None  # a finished pod changes only when its object does
                elif wake_at is not None:
                    timeout = max(0.0, min(self.config.resync_seconds, wake_at - time.time()))
                try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                    async with asyncio.timeout(timeout):
                        await self.changed.wait()
                except TimeoutError:
                    pass
        finally:
            self._stop_tasks()

    def _stop_tasks(self) -> None:
        for tasks in self._probes.values():
            for t in tasks:
                t.cancel()
        for t in self._watchers.values():
            t.cancel()
        for t, _ in self._kills.values():
            t.cancel()

    def restore(self) -> None:
        """Pick up where an earlier kubeshim left off: checkpoint, live processes, their exit records."""
        saved = checkpoint.load(self.dir)
        if saved is not None:
            self.record = saved
        else:
            self._reconstruct_from_api()
        for name, r in self.record.containers.items():
            for inst in (r.previous, r.current):
                if inst is not None:
                    self.provider.adopt(self.uid, inst.id)
            if r.pending:
                obs = self.provider.adopt(self.uid, r.pending)
                self.started_instance(name, r, r.pending, obs, "")
                continue
            if r.current is not None and r.current.running:
                self._watch(name, r.current.id)
                self._start_probes(name, r)

    def _reconstruct_from_api(self) -> None:
        """No checkpoint (data dir lost): trust the API's last status; running containers are gone."""
        status = self.pod.get("status") or {}
        if status.get("startTime"):
            self.record.start_time = parse_time(status["startTime"])
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            cid = (cs.get("containerID") or "").split("://", 1)[-1]
            if not cid or not (state.get("running") or state.get("terminated")):
                continue
            r = self.record.container(cs["name"])
            r.restart_count = int(cs.get("restartCount") or 0)
            if state.get("running"):
                started = parse_time(state["running"].get("startedAt") or rfc3339(time.time()))
                r.current = podstate.Instance(cid, started)
                r.current.finished_at = time.time()
                r.current.exit_code = 137
                r.current.reason = podstate.VANISHED_REASON
                r.current.message = podstate.VANISHED_MESSAGE
                r.retry_at = time.time()
            else:
                t = state["terminated"]
                r.current = podstate.Instance(cid, parse_time(t.get("startedAt") or t.get("finishedAt")),
                                              finished_at=parse_time(t.get("finishedAt")),
                                              exit_code=int(t.get("exitCode") or 0), reason=t.get("reason", ""),
                                              message=t.get("message", ""))
        if self.record.containers:
            self.record.sandbox_ready = True

    async def sync(self) -> tuple[bool, float | None]:
        """One reconciliation; returns (finished, wake_at)."""
        now = time.time()
        if self.gone:
            await self.teardown()
            return True, None
        meta = _meta(self.pod)
        if self.record.start_time is None:
            self.record.start_time = now
            self.save()
        await self.observe_exits()
        api_phase = (self.pod.get("status") or {}).get("phase")
        if meta.get("deletionTimestamp") and not self.record.terminating:
            self.record.terminating = True
            self.save()
        sources = SourcesOnce(self._fetch_sources)
        if not self.record.terminating and api_phase not in podstate.TERMINAL:
            await self.setup_volumes(now, sources)
        plan = podstate.plan(self.pod, self.record, now)
        if plan.deadline_exceeded:
            self.record.reason, self.record.message = podstate.DEADLINE_REASON, podstate.DEADLINE_MESSAGE
            self.save()
        for name in plan.kill:
            self.kill(name, self.grace_seconds(), pre_stop=self.record.terminating)
        for name in plan.start:
            await self.start_container(name, sources)
        await self.push_status()
        if self.record.terminating and not self.running() and not self._kills:
            # A last container may have ended while the push above was in flight: its terminal status must
            # be written before the object goes (propeller reads it from the final state).
            await self.push_status()
            await self.finish_deletion()
        return False, plan.wake_at

    # -- observing ------------------------------------------------------------------------------------------
    async def observe_exits(self) -> None:
        for name, r in list(self.record.containers.items()):
            if r.current is None or not r.current.running:
                continue
            obs = self.provider.observe(r.current.id)
            if obs.done:
                await self.record_exit(name, r, obs)

    async def record_exit(self, name: str, r: ContainerRecord, obs: Observed) -> None:
        inst = r.current
        assert inst is not None
        if obs.state == "unknown":
            code, reason, message = 137, podstate.VANISHED_REASON, podstate.VANISHED_MESSAGE
        else:
            code = obs.exit_code if obs.exit_code is not None else 137
            reason = podstate.terminated_reason(code, obs.oom_killed)
            message = self.provider.termination_message(inst.id)
            spec = self.container_spec(name) or {}
            if not message.strip() and code != 0 and spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
                message = await fallback_message(self.provider, self.uid, inst.id)
        podstate.record_exit(r, finished_at=obs.finished_at or time.time(), exit_code=code, reason=reason,
                             message=message, backoff=self.backoff)
        for t in self._probes.pop(name, []):
            t.cancel()
        self.save()

    def _watch(self, name: str, cid: str) -> None:
        async def watcher() -> None:
            await self.provider.wait(cid)
            self.changed.set()

        old = self._watchers.get(name)
        if old is not None:
            old.cancel()
        self._watchers[name] = asyncio.create_task(watcher())

    # -- volumes --------------------------------------------------------------------------------------------
    async def _fetch_sources(self) -> PodSources:
        return await podsources.fetch(self.client, self.pod, allocatable=self.node.allocatable(),
                                      host_ip=self.config.host_ip, pod_ip=self.config.host_ip)

    async def setup_volumes(self, now: float, sources: SourcesOnce) -> None:
        """Materialize volumes on first sync, then refresh them every resync (ConfigMap updates)."""
        if self.record.sandbox_ready and now - self.volumes_at < self.config.resync_seconds and self.volumes:
            return
        try:
            try:
                tokens = await podsources.service_account_tokens(self.pod, self.config.token_issuer)
            except StatusError as exc:
                raise VolumeError(f"failed to fetch token: {exc.message}") from None
            with_tokens = dataclasses.replace(await sources.get(), tokens=tokens)
            self.volumes = await asyncio.to_thread(materialize, self.pod, self.dir, with_tokens,
                                                   Path(self.config.data_dir) / "volumes" / "pvc")
        except VolumeError as exc:
            changed = self.record.volume_error != str(exc)
            self.record.volume_error = str(exc)
            if changed:
                self.save()
            return
        self.volumes_at = now
        if not self.record.sandbox_ready or self.record.volume_error:
            self.record.sandbox_ready, self.record.volume_error = True, ""
            self.save()

    # -- starting -------------------------------------------------------------------------------------------
    def container_spec(self, name: str) -> dict[str, Any] | None:
        return next((c for c, _ in all_containers(self.pod) if c.get("name") == name), None)

    async def start_container(self, name: str, sources: SourcesOnce) -> None:
        c = self.container_spec(name)
        if c is None:
            return
        r = self.record.container(name)
        now = time.time()
        try:
            image = self.node.images.resolve(c.get("image", ""))
        except ImagePullError as exc:
            self._start_failed(name, r, "ErrImagePull", str(exc), now)
            return
        try:
            env = container_env(self.pod, c, await sources.get(), self.base_env(image.path, image.env))
        except ConfigError as exc:
            self._start_failed(name, r, "CreateContainerConfigError", str(exc), now)
            return
        argv = container_argv(c, env, image.entrypoint, image.cmd)
        cid = uuid.uuid4().hex
        try:
            if not argv:
                raise mountlib.MountError(f"failed to generate container \"{cid}\" spec: no command specified "
                                          f"(the image rule for {image.image} gives no entrypoint)")
            mounts, term_path = self.prepare_mounts(c, env, image.files)
        except mountlib.MountError as exc:
            self._start_failed(name, r, "CreateContainerError", str(exc), now)
            return
        limits, requests = container_limits(c), container_requests(c)
        user = identity.run_as(self.pod, c)
        cwd = c.get("workingDir") or ("/" if user.uid is not None else str(self.dir / "work" / name))
        if not c.get("workingDir") and user.uid is None:
            os.makedirs(cwd, exist_ok=True)
        spec = ContainerSpec(
            id=cid, pod_uid=self.uid, name=name, argv=argv, env=env, cwd=cwd, mounts=mounts,
            memory_limit=quantity.to_bytes(limits["memory"]) if "memory" in limits else None,
            cpu_limit_millis=quantity.millicores(limits["cpu"]) if "cpu" in limits else None,
            cpu_request_millis=quantity.millicores(requests["cpu"]) if "cpu" in requests else None,
            termination_message_path=term_path, hostname=identity.hostname(self.pod, self.config.cluster_domain),
            run_as_user=user.uid, run_as_group=user.gid, supplemental_groups=user.groups,
            stdin=bool(c.get("stdin")), stdin_once=bool(c.get("stdinOnce")), tty=bool(c.get("tty")))
        r.pending = cid
        self.save()
        self.starting += 1
        try:
            # Shielded: if kubeshim stops mid-start the container still starts, and the checkpoint's
            # `pending` makes the next kubeshim adopt it rather than start another.
            obs = await asyncio.shield(self.provider.start(spec))
        finally:
            self.starting -= 1
        self.started_instance(name, r, cid, obs, image.image_id)
        self._record_start(name, c, obs)
        self._post_start(name, c, cid)

    def _field_path(self, name: str) -> str:
        init = any(is_init for spec, is_init in all_containers(self.pod) if spec.get("name") == name)
        return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"

    def _start_failed(self, name: str, r: ContainerRecord, reason: str, message: str, now: float) -> None:
        """A container that cannot be started waits with `reason`; the kubelet says why in Warning events
        (a failed pull first with the puller's own words, then `Error: <reason>`; else `Error: <message>`)."""
        podstate.record_start_failure(r, reason, message, now, self.backoff)
        self.save()
        field_path = self._field_path(name)
        if reason == "ErrImagePull":
            self.node.recorder.pod_event(self.pod, events.WARNING, "Failed", message, field_path)
            message = reason
        self.node.recorder.pod_event(self.pod, events.WARNING, "Failed", f"Error: {message}", field_path)

    def _record_start(self, name: str, c: dict[str, Any], obs: Observed) -> None:
        """Pulled, Created, Started (or Failed) events, as a kubelet reports a container start."""
        field_path = self._field_path(name)
        recorder = self.node.recorder
        if obs.state in ("failed", "unknown") and obs.pid is None:
            recorder.pod_event(self.pod, events.WARNING, "Failed", f"Error: {obs.error or 'failed to start'}",
                               field_path)
            return
        recorder.pod_event(self.pod, events.NORMAL, "Pulled",
                           f'Container image "{c.get("image", "")}" already present on machine', field_path)
        recorder.pod_event(self.pod, events.NORMAL, "Created", f"Created container {name}", field_path)
        recorder.pod_event(self.pod, events.NORMAL, "Started", f"Started container {name}", field_path)

    def started_instance(self, name: str, r: ContainerRecord, cid: str, obs: Observed, image_id: str) -> None:
        """Book a start attempt's outcome (also used when re-adopting a start that was in progress)."""
        r.pending = ""
        if obs.state in ("failed", "unknown") and obs.pid is None:
            self.provider.remove(cid)
            podstate.record_start_failure(r, "CreateContainerError", obs.error or "container failed to start",
                                          time.time(), self.backoff)
            self.save()
            return
        if r.previous is not None and r.current is not None:
            self.provider.remove(r.previous.id)  # keep only the current and the previous run's files
        podstate.record_started(r, cid, obs.started_at or time.time(), image_id)
        self.save()
        self._watch(name, cid)
        self._start_probes(name, r)

    def base_env(self, path: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
        env = {"PATH": ":".join(path), "HOSTNAME": self.name, "HOME": os.environ.get("HOME", "/root")}
        for key in ("LANG", "LC_ALL", "TZ"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(extra)
        env.update(self.config.api_env)
        return env

    def prepare_mounts(self, c: dict[str, Any], env: dict[str, str],
                       image_files: tuple[tuple[str, str], ...] = ()) -> tuple[list[Mount], str | None]:
        """The files the image carries (read-only), then the volume mounts, for one container (in fallback mode,
        symlinks at their paths on the host)."""
        mode = self.node.namespace_mode
        out: list[Mount] = []
        for carried_at, carried in image_files:
            if not mode:
                self._created(*mountlib.link(carried_at, carried, self.node.path_busy(carried_at, self.uid)))
            out.append(Mount(carried, carried_at, True))
        for vm in sorted(c.get("volumeMounts") or [], key=lambda m: m.get("mountPath", "").count("/")):
            vol_name = vm.get("name", "")
            target = os.path.normpath(vm.get("mountPath", ""))
            source = self.volumes.get(vol_name)
            best_effort = vol_name.startswith(BEST_EFFORT_VOLUME_PREFIX)
            if source is None:
                raise mountlib.MountError(f'volume "{vol_name}" is not set up')
            sub = vm.get("subPath") or (expand(vm["subPathExpr"], env) if vm.get("subPathExpr") else "")
            if sub:
                if os.path.isabs(sub) or ".." in Path(sub).parts:
                    raise mountlib.MountError(f'subPath "{sub}" must be a relative path without ".."')
                source = make_subpath(source, sub)
            if not mode:  # in a container's own root, mount points are made there (runtime/mounts.py)
                try:
                    self._created(*mountlib.link(target, source, self.node.path_busy(target, self.uid)))
                except mountlib.MountError:
                    if best_effort:
                        log.info("skipping %s at %s for pod %s", vol_name, target, self.name)
                        continue
                    raise
            out.append(Mount(source, target, bool(vm.get("readOnly"))))
        if mode:
            out += self.network_files(c)
        term_path = (c.get("terminationMessagePath") or "/dev/termination-log") if mode else None
        return out, term_path

    # -- /etc/hosts and /etc/resolv.conf --------------------------------------------------------------------
    @property
    def hosts_path(self) -> Path:
        return self.dir / "etc-hosts"

    def network_files(self, c: dict[str, Any]) -> list[Mount]:
        """The pod's hosts file (the kubelet's) and resolv.conf (the runtime's), unless the container mounts a
        volume there itself; both are the pod's, shared by its containers."""
        targets = {os.path.normpath(vm.get("mountPath", "")) for vm in c.get("volumeMounts") or []}
        out = []
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if HOSTS not in targets:
                self.refresh_hosts(create=True)
                out.append(Mount(str(self.hosts_path), HOSTS, False))
            if RESOLV_CONF not in targets:
                out.append(Mount(self._resolv_conf(), RESOLV_CONF, False))
        except OSError as exc:
            raise mountlib.MountError(f"failed to write the pod's {HOSTS} or {RESOLV_CONF}: {exc}") from None
        return out

    def refresh_hosts(self, create: bool = False) -> None:
        """Rewrite the hosts file in place when its text changed (Services came or went); made only on a
        container start."""
        if not create and not self.hosts_path.exists():
            return
        text = hostsfile.pod_hosts(self.pod, [self.config.host_ip], self.config.cluster_domain,
                                   self.node.cluster_names(self.record.namespace))
        try:
            if self.hosts_path.read_text() == text:
                return
        except OSError:
            pass
        hostsfile.write_in_place(self.hosts_path, text)

    def _resolv_conf(self) -> str:
        """Written once per pod, as the runtime does for a sandbox; limits cut are DNSConfigForming Warnings."""
        path = self.dir / "resolv.conf"
        if not path.exists():
            config, warnings = dnsconfig.pod_dns(self.pod, dnsconfig.read_host(self.config.resolv_conf),
                                                 self.config.cluster_domain)
            for warning in warnings:
                self.node.recorder.pod_event(self.pod, events.WARNING, "DNSConfigForming", warning)
            text = dnsconfig.render(config)
            if not text:
                try:
                    text = Path(self.config.resolv_conf).read_text()
                except OSError:
                    text = ""
            hostsfile.write_in_place(path, text)
        return str(path)

    def _created(self, *paths: str) -> None:
        for path in paths:
            if path not in self.record.created_paths:
                self.record.created_paths.append(path)

    # -- probes and hooks -----------------------------------------------------------------------------------
    def _probe_target(self, name: str, cid: str) -> ProbeTarget:
        c = self.container_spec(name) or {}
        ports = {p["name"]: int(p["containerPort"]) for p in c.get("ports") or [] if p.get("name")}
        return ProbeTarget(run_command=functools.partial(exec_succeeds, self.provider, cid),
                           host=self.config.host_ip, ports=ports)

    def _start_probes(self, name: str, r: ContainerRecord) -> None:
        c = self.container_spec(name) or {}
        for t in self._probes.pop(name, []):
            t.cancel()
        tasks: list[asyncio.Task[None]] = []
        assert r.current is not None
        target = self._probe_target(name, r.current.id)
        startup, readiness, liveness = c.get("startupProbe"), c.get("readinessProbe"), c.get("livenessProbe")

        def report(kind: str, ok: bool) -> None:
            self.on_probe(name, kind, ok)

        if startup and not r.started:
            tasks.append(asyncio.create_task(run_probe("startup", startup, target, report)))
        else:
            r.started = True
            self._after_started(name, r, tasks, target, readiness, liveness, report)
        if not readiness and r.started:
            r.ready = True
        self._probes[name] = tasks

    def _after_started(self, name: str, r: ContainerRecord, tasks: list[asyncio.Task[None]], target: ProbeTarget,
                       readiness: Any, liveness: Any, report: Any) -> None:
        if readiness:
            tasks.append(asyncio.create_task(run_probe("readiness", readiness, target, report, initial=r.ready)))
        else:
            r.ready = True
        if liveness:
            tasks.append(asyncio.create_task(run_probe("liveness", liveness, target, report, initial=True)))

    def on_probe(self, name: str, kind: str, ok: bool) -> None:
        r = self.record.containers.get(name)
        if r is None or r.current is None or not r.current.running:
            return
        c = self.container_spec(name) or {}
        if kind == "readiness":
            r.ready = ok
        elif kind == "startup" and ok:
            r.started = True
            tasks = self._probes.setdefault(name, [])
            target = self._probe_target(name, r.current.id)
            self._after_started(name, r, tasks, target, c.get("readinessProbe"), c.get("livenessProbe"),
                                lambda k, v: self.on_probe(name, k, v))
        elif not ok:  # liveness or startup failure: kill; the restart policy decides what comes next
            probe = c.get("livenessProbe" if kind == "liveness" else "startupProbe") or {}
            grace = probe.get("terminationGracePeriodSeconds")
            self.kill(name, float(grace) if grace is not None else self.grace_seconds(spec_only=True), pre_stop=True)
        self.save()
        self.changed.set()

    def _post_start(self, name: str, c: dict[str, Any], cid: str) -> None:
        hook = ((c.get("lifecycle") or {}).get("postStart") or {}).get("exec")
        if not hook:
            return

        async def run() -> None:
            command = list(hook.get("command") or [])
            if not await exec_succeeds(self.provider, cid, command, self.grace_seconds(spec_only=True)):
                log.info("postStart hook of %s/%s failed; killing it", self.name, name)
                self.kill(name, self.grace_seconds(spec_only=True), pre_stop=False)

        self._probes.setdefault(name, []).append(asyncio.create_task(run()))

    # -- stopping -------------------------------------------------------------------------------------------
    def grace_seconds(self, spec_only: bool = False) -> float:
        meta, spec = _meta(self.pod), self.pod.get("spec") or {}
        if not spec_only and meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds") is not None:
            return float(meta["deletionGracePeriodSeconds"])
        value = spec.get("terminationGracePeriodSeconds")
        return float(value) if value is not None else float(DEFAULT_GRACE)

    def kill(self, name: str, grace: float, *, pre_stop: bool) -> None:
        """Stop a running container in the background (SIGTERM, SIGKILL after grace)."""
        r = self.record.containers.get(name)
        if r is None or r.current is None or not r.current.running:
            return
        cid = r.current.id
        existing = self._kills.get(name)
        deadline = time.monotonic() + grace
        if existing is not None and not existing[0].done() and existing[1] <= deadline:
            return  # already stopping at least as fast

        if existing is None:
            spec_kind = "initContainers" if any(i for c, i in all_containers(self.pod) if c.get("name") == name) \
                else "containers"
            self.node.recorder.pod_event(self.pod, events.NORMAL, "Killing", f"Stopping container {name}",
                                         f"spec.{spec_kind}{{{name}}}")

        async def stop() -> None:
            try:
                hook = ((self.container_spec(name) or {}).get("lifecycle") or {}).get("preStop") or {}
                if pre_stop and hook.get("exec") and existing is None:
                    started = time.monotonic()
                    await exec_succeeds(self.provider, cid, list(hook["exec"].get("command") or []), max(grace, 0.1))
                    remaining = max(0.0, grace - (time.monotonic() - started))
                else:
                    remaining = grace
                await self.provider.stop(cid, remaining)
            finally:
                if self._kills.get(name, (None,))[0] is asyncio.current_task():
                    self._kills.pop(name, None)
                self.changed.set()

        if existing is not None:
            existing[0].cancel()
        self._kills[name] = (asyncio.create_task(stop()), deadline)

    async def finish_deletion(self) -> None:
        if self.deleted_requested:
            return
        try:
            await self.client.delete(PODS, self.name, self.namespace, grace_period_seconds=0, uid=self.uid)
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
        self.deleted_requested = True

    async def teardown(self) -> None:
        """The pod object is gone: stop anything left, then remove the pod's directory and mount points."""
        for name in self.running():
            self.kill(name, min(self.grace_seconds(), 2.0), pre_stop=False)
        kills = [t for t, _ in self._kills.values()]
        if kills:
            await asyncio.gather(*kills, return_exceptions=True)
        self._stop_tasks()
        for r in self.record.containers.values():
            for inst in (r.previous, r.current):
                if inst is not None:
                    self.provider.forget(inst.id)
        for path in mountlib.innermost_first(self.record.created_paths):
            if not self.node.hand_over_path(path, self.uid):  # else still covered by a pod that now owns it
                mountlib.release(path)
        await asyncio.to_thread(shutil.rmtree, self.dir, True)

    # -- status ---------------------------------------------------------------------------------------------
    async def push_status(self) -> None:
        status = podstate.pod_status(self.pod, self.record, time.time(), host_ip=self.config.host_ip,
                                     pod_ip=self.config.host_ip)
        if status == self.last_status or status == (self.pod.get("status") or {}):
            self.last_status = status
            return
        patch_status: dict[str, Any] = dict(status)
        for key in ("reason", "message", "initContainerStatuses"):
            if key in (self.pod.get("status") or {}) and key not in status:
                patch_status[key] = None
        try:
            updated = await self.client.patch(PODS, self.name, {"status": patch_status}, namespace=self.namespace,
                                              subresource="status")
        except StatusError as exc:
            if exc.code == 404:
                return
            raise
        self.last_status = status
        if _meta(updated).get("uid") == self.uid:
            self._adopt_newer(updated)
