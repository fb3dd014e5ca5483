"""Wiring: the store, registry, controllers, kubelet and HTTP server of one `kubeshim up`."""
from __future__ import annotations

import asyncio
import contextlib
import gc as cyclic_gc
import logging
import signal
import socket
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import uvicorn

from shim.clients.base import CRDS
from shim.clients.local import LocalClient
from shim.controllers import admissionpolicies, bootstrap, flowcontrol
from shim.controllers.apiservices import APISERVICES, SERVICES, register_local, update_availability, \
    wanted_apiservices
from shim.controllers.crds import cleanup_terminating
from shim.controllers.endpoints import EndpointsController
from shim.controllers.endpointslices import EndpointSliceController
from shim.controllers.gc import GarbageCollector, collected_resources
from shim.controllers.kubernetes_service import DNS_NAMES, keep_kubernetes_service
from shim.controllers.namespaces import finalize_terminating, namespaced_resources
from shim.controllers.rootca import publish_root_ca
from shim.controllers.runner import forever, reconcile_on_changes
from shim.controllers.selection import ALL, Selection
from shim.controllers.serviceaccounts import ensure_default_accounts
from shim.controllers.tokens import TokenSecrets
from shim.controllers.workloads import run_workloads
from shim.registry.catalog import Catalog
from shim.registry.generic import Registry
from shim.registry.kinds import pod_service_account
from shim.registry.rest import Verbs
from shim.registry.services import Services
from shim.server import kubeconfig, tls
from shim.server.app import build_app
from shim.server.auth import Authenticator, Authorizer, ServiceAccountTokens
from shim.server.resources import ApiContext
from shim.server.reviews import AccessReviews
from shim.server.satokens import TokenAuthority
from shim.server.sessions import Signer, login_url
from shim.server.streaming.upgrade import UpgradingHttpToolsProtocol
from shim.storage.store import Store

log = logging.getLogger("kubeshim")


def _crds_dir() -> Path:
    """crds/ of a source checkout, else the copy a wheel installed under <prefix>/share/kubeshim."""
    checkout = Path(__file__).resolve().parents[2] / "crds"
    return checkout if checkout.is_dir() else Path(sysconfig.get_path("data")) / "share" / "kubeshim" / "crds"


CRDS_DIR = _crds_dir()
#: kube-apiserver's admission plugins kubeshim can turn off (the others are part of the kinds' strategies)
OPTIONAL_ADMISSION_PLUGINS = frozenset({pod_service_account.PLUGIN})


@dataclass
class Options:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    tls: bool = True
    kubelet: bool = True
    crds_dir: Path = CRDS_DIR
    bookmark_interval: float = 10.0
    log_level: str = "warning"
    #: revisions of the log kept for watch resume; older resourceVersions answer 410 Expired
    watch_window: int = 20000
    #: seconds between compactions of the history (kube-apiserver's --etcd-compaction-interval)
    compaction_interval: float = 300.0
    #: the `iss` of service-account tokens (the first signs, all verify); by default the server's URL
    service_account_issuers: list[str] = field(default_factory=list)
    #: which of kube-controller-manager's controllers run here
    controllers: Selection = ALL
    #: the optional admission plugins that are on (kube-apiserver's --disable-admission-plugins turns them off)
    admission_plugins: frozenset[str] = OPTIONAL_ADMISSION_PLUGINS
    extra: dict[str, Any] = field(default_factory=dict)


def advertised_host(opts: Options) -> str:
    """The address clients on this machine reach the server at (a wildcard bind is reached on loopback)."""
    return opts.host if opts.host not in ("0.0.0.0", "::") else "127.0.0.1"


def server_url(opts: Options) -> str:
    return f"{'https' if opts.tls else 'http'}://{advertised_host(opts)}:{opts.port}"


def write_kubeconfig(opts: Options, auth: Authenticator) -> Path:
    ca = opts.data_dir / "pki" / "ca.crt" if opts.tls else None
    path = opts.data_dir / "kubeconfig"
    path.write_text(kubeconfig.render(server_url(opts), ca, auth.admin_token()))
    path.chmod(0o600)
    return path


class Cluster:
    """Everything of one kubeshim process, started and stopped together."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(opts.data_dir / "state.db", window=opts.watch_window,
                           compaction_interval=opts.compaction_interval)
        self.store.open()
        self.fresh = self.store.revision == 0
        self.registry = Registry(self.store, plugins=opts.admission_plugins)
        self.catalog = Catalog(self.store)
        self.tokens = TokenAuthority.load(opts.data_dir, opts.service_account_issuers or [server_url(opts)],
                                          server_url(opts))
        self.auth = Authenticator.load(opts.data_dir, ServiceAccountTokens(self.tokens, self._stored))
        authorizer = Authorizer(self.registry, self.catalog)
        self.verbs = Verbs(self.registry, self.catalog,
                           Services(tokens=self.tokens, reviews=AccessReviews(authorizer, self.auth)))
        self.ctx = ApiContext(self.verbs, self.auth, authorizer, bookmark_interval=opts.bookmark_interval,
                              sessions=Signer.load(opts.data_dir))
        self.client = LocalClient(self.verbs)
        self.tasks: list[asyncio.Task[None]] = []

    def _stored(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A core v1 object as stored, for the checks of service-account tokens (None when there is none)."""
        info = self.catalog.lookup("", "v1", plural)
        entry = self.registry.get_entry(info, namespace, name) if info is not None else None
        return self.registry.decode(info, entry) if info is not None and entry is not None else None

    def _root_ca(self) -> bytes:
        """What token Secrets carry as ca.crt: the CA clients verify this server with (none over plain HTTP)."""
        path = self.opts.data_dir / "pki" / "ca.crt"
        return path.read_bytes() if self.opts.tls and path.exists() else b""

    async def start(self) -> None:
        self.store.start(asyncio.get_running_loop())
        await bootstrap.ensure_namespaces(self.client)
        await bootstrap.ensure_rbac_defaults(self.client)
        await bootstrap.ensure_priority_classes(self.client)
        await flowcontrol.ensure_bootstrap(self.client)
        if self.fresh:
            await bootstrap.install_crds(self.client, self.opts.crds_dir)
        client, wanted = self.client, lambda: wanted_apiservices(self.catalog)
        await register_local(client, wanted)
        gc = GarbageCollector(self.client, lambda: collected_resources(self.catalog))
        token_secrets = TokenSecrets(LocalClient(self.verbs, manager="kube-controller-manager"), self.tokens.sign,
                                     self._root_ca())
        self.tasks += [
            asyncio.create_task(forever("apiservices", lambda: reconcile_on_changes(
                client, [CRDS], lambda: register_local(client, wanted)))),
            asyncio.create_task(forever("apiservice-availability", lambda: reconcile_on_changes(
                client, [APISERVICES, SERVICES], lambda: update_availability(client)))),
            asyncio.create_task(forever("flowschema-status", lambda: reconcile_on_changes(
                client, [flowcontrol.FLOW_SCHEMAS, flowcontrol.PRIORITY_LEVELS],
                lambda: flowcontrol.update_dangling(client)))),
            asyncio.create_task(forever("crds", lambda: cleanup_terminating(self.client))),
            asyncio.create_task(forever("kubernetes-service", lambda: keep_kubernetes_service(
                self.client, advertised_host(self.opts), self.opts.port))),
        ]
        chosen = self.opts.controllers
        if "serviceaccount-controller" in chosen:
            self.tasks.append(asyncio.create_task(forever("serviceaccounts",
                                                          lambda: ensure_default_accounts(self.client))))
        if "serviceaccount-token-controller" in chosen:
            self.tasks += [asyncio.create_task(forever("token secrets", token_secrets.fill)),
                           asyncio.create_task(forever("token secrets of deleted accounts", token_secrets.revoke))]
        if "namespace-controller" in chosen:
            self.tasks.append(asyncio.create_task(forever("namespaces", lambda: finalize_terminating(
                self.client, lambda: namespaced_resources(self.catalog)))))
        if "validatingadmissionpolicy-status-controller" in chosen:
            status_client = LocalClient(self.verbs, manager=admissionpolicies.MANAGER)
            resolve, resolve_kind = admissionpolicies.resolvers(self.catalog)
            self.tasks.append(asyncio.create_task(forever("validatingadmissionpolicy-status", lambda: (
                reconcile_on_changes(status_client, [admissionpolicies.POLICIES],
                                     lambda: admissionpolicies.update_type_checking(status_client, resolve,
                                                                                    resolve_kind))))))
        if "endpoints-controller" in chosen:
            endpoints = EndpointsController(LocalClient(self.verbs, manager="kube-controller-manager"))
            self.tasks.append(asyncio.create_task(forever("endpoints", endpoints.run)))
        if "endpointslice-controller" in chosen:
            slices = EndpointSliceController(LocalClient(self.verbs, manager="kube-controller-manager"))
            self.tasks.append(asyncio.create_task(forever("endpointslices", slices.run)))
        if "garbage-collector-controller" in chosen:
            self.tasks.append(asyncio.create_task(gc.run()))
        workloads_client = LocalClient(self.verbs, manager="kube-controller-manager")
        served = lambda r: self.catalog.lookup(r.group, r.version, r.plural) is not None  # noqa: E731
        self.tasks.append(asyncio.create_task(forever("workloads", lambda: run_workloads(
            workloads_client, served, chosen))))
        ca = self.opts.data_dir / "pki" / "ca.crt"
        if "root-ca-certificate-publisher-controller" in chosen and self.opts.tls and ca.exists():
            ca_pem = ca.read_text()
            self.tasks.append(asyncio.create_task(forever("root-ca", lambda: publish_root_ca(self.client, ca_pem))))
        if self.opts.kubelet:
            await self._start_kubelet()
        # Everything loaded so far lives as long as the process: keep it out of the cyclic collector's
        # sweeps, and let young generations grow before collecting (fewer pauses in the request tail).
        cyclic_gc.freeze()
        cyclic_gc.set_threshold(50_000, 20, 100)

    async def _start_kubelet(self) -> None:
        try:
            from shim.kubelet.agent import start_kubelet
        except ImportError:
            log.warning("kubelet not available in this build")
            return
        self.tasks.append(asyncio.create_task(start_kubelet(self.client, self.opts, self.ctx)))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.store.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def run(opts: Options) -> None:
    """`kubeshim up`: serve in the foreground until SIGINT/SIGTERM."""
    logging.basicConfig(level=getattr(logging, opts.log_level.upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cluster = Cluster(opts)
    ssl: dict[str, Any] = {}
    if opts.tls:
        _, crt, key = tls.ensure_certificates(opts.data_dir, [opts.host, socket.gethostname(), *DNS_NAMES])
        ssl = {"ssl_certfile": str(crt), "ssl_keyfile": str(key)}
    path = write_kubeconfig(opts, cluster.auth)
    app = build_app(cluster.ctx, lifespan=cluster.lifespan)
    config = uvicorn.Config(app, host=opts.host, port=opts.port, log_level=opts.log_level, access_log=False,
                            loop="uvloop", http=UpgradingHttpToolsProtocol, ws="wsproto", timeout_graceful_shutdown=2,
                            timeout_keep_alive=120, **ssl)
    print(f"kubeshim serving {server_url(opts)}; kubeconfig: {path}", flush=True)
    print(f"logs: {login_url(opts.data_dir, server_url(opts))}", flush=True)
    _Server(config).run()


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown (so the exit status is the signal's);
    a clean stop of kubeshim exits 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
