"""The reference Kubernetes: etcd, kube-apiserver and a kube-controller-manager built from Go modules.

`tools/k8s/build.sh` builds (or finds cached) k8s.io/kubernetes v1.34.12 and etcd v3.6.16; `start_reference`
runs them on loopback the way a small cluster runs them: HTTPS with a CA of our own, a bearer token in
`system:masters` (so clients reach it exactly as they reach kubeshim, through a kubeconfig), RBAC, the default
admission plugins, service-account JWTs signed with an RSA key, the service-account controllers (without
them the ServiceAccount admission plugin refuses every pod) and the Endpoints and EndpointSlice controllers. No
scheduler and no kubelet: pods stay Pending, as on `kubeshim up --no-kubelet`.

A plain module, importable by name from tests/ (and by bench/ with tests/ on sys.path).
"""
from __future__ import annotations

import ctypes
import datetime
import ipaddress
import secrets
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "tools" / "k8s" / "build.sh"
VERSION = "v1.34.12"
SERVICE_CIDR = "10.96.0.0/12"  # kubeshim's ClusterIP range too
BUILD_TIMEOUT = 1800  # a cold build on 2 busy cores


def build(timeout: float = BUILD_TIMEOUT) -> Path:
    """The directory holding kube-apiserver, kube-controller-manager and etcd, built first when go.mod, go.sum or
    the wrappers changed since the cached build (tools/k8s/build.sh keeps a stamp)."""
    proc = subprocess.run(["nice", "-n", "10", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} exited {proc.returncode}:\n{proc.stderr[-5000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def go_toolchain() -> str | None:
    return shutil.which("go")


@dataclass
class Reference:
    """A running reference stack and what a client needs to reach it (the same shape as harness.Kubeshim)."""

    directory: Path
    port: int
    token: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.directory / "pki" / "ca.crt")

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def stop(self, timeout: float = 15) -> None:
        """Stop the controller manager, the API server, then etcd (the reverse of their start)."""
        for proc in reversed(list(self.processes.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _die_with_parent() -> None:
    """Runs in the child: a test run that dies must not leave an API server and etcd behind."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_pki(pki: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1 and the service-account signing key (RSA: JWTs are RS256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def pem_key(key: object) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeshim-reference-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("10.96.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    (pki / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (pki / "apiserver.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (pki / "apiserver.key").write_bytes(pem_key(key))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (pki / "sa.key").write_bytes(pem_key(sa_key))
    (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def write_kubeconfig(path: Path, url: str, ca: str, token: str, name: str = "reference") -> None:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": url, "certificate-authority": ca}}],
        "users": [{"name": "kubeshim-admin", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "kubeshim-admin"}}],
    }))


def _spawn(name: str, argv: list[str], directory: Path) -> subprocess.Popen:
    log = open(directory / f"{name}.log", "ab")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent, cwd=directory)


def _wait_ready(ref: Reference, deadline: float) -> None:
    ctx = ssl.create_default_context(cafile=ref.ca)
    request = urllib.request.Request(f"{ref.url}/readyz", headers={"Authorization": f"Bearer {ref.token}"})
    while time.monotonic() < deadline:
        for name, proc in ref.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {ref.directory / name}.log")
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"kube-apiserver not ready; see {ref.directory}/kube-apiserver.log")


def start_reference(directory: Path, bin_dir: Path, ready_timeout: float = 120) -> Reference:
    """Start etcd, kube-apiserver and kube-controller-manager under `directory`; returns once /readyz is 200."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = directory / "pki"
    _write_pki(pki)
    token = secrets.token_hex(24)
    # The admin is who kubeshim's is (tokens.json: kubeshim-admin, no uid, system:masters), so that answers
    # naming the user (whoami, Forbidden messages) compare equal.
    (directory / "tokens.csv").write_text(f'{token},kubeshim-admin,,"system:masters"\n')
    ref = Reference(directory, _free_port(), token)
    write_kubeconfig(ref.kubeconfig, ref.url, ref.ca, token)

    client_port, peer_port = _free_port(), _free_port()
    etcd_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    ref.processes["etcd"] = _spawn("etcd", [
        str(bin_dir / "etcd"), "--name=reference", f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=reference={peer_url}", "--unsafe-no-fsync", "--log-level=warn",
    ], directory)
    ref.processes["kube-apiserver"] = _spawn("kube-apiserver", [
        str(bin_dir / "kube-apiserver"), f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1", f"--secure-port={ref.port}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={directory / 'tokens.csv'}",
        # the issuer is the server's URL, as kubeshim's by default, and the JWKS is served at its address
        f"--service-account-issuer={ref.url}", "--external-hostname=127.0.0.1",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}", f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=RBAC", "--allow-privileged=true", "--profiling=false",
        f"--cert-dir={pki}", "--v=1",
    ], directory)
    try:
        _wait_ready(ref, time.monotonic() + ready_timeout)
        ref.processes["kube-controller-manager"] = _spawn("kube-controller-manager", [
            str(bin_dir / "kube-controller-manager"), f"--kubeconfig={ref.kubeconfig}",
            "--controllers=serviceaccount,serviceaccount-token,root-ca-cert-publisher,endpoint,endpointslice",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            "--secure-port=0", "--profiling=false", "--v=1",
        ], directory)
    except BaseException:
        ref.stop()
        raise
    return ref

