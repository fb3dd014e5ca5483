"""The S3-compatible object store Flyte keeps its blobs in: versitygw, or one the user names with --s3-endpoint.

Why versitygw (github.com/versity/versitygw, Apache-2.0): a well-kept S3 gateway whose posix backend keeps each
bucket as a plain directory, with SigV4 and presigned PUT/GET (what fast registration needs: flyteadmin's data
proxy hands pyflyte a presigned URL), and IAM accounts of its own with bucket ownership, so the tenancy work can
give every project its own credentials. It is one static Go binary, built from its Go module on first use when
it is not on PATH. MinIO is AGPL; RustFS would need a Rust build of many minutes; rclone's `serve s3` has a
single credential set. Object metadata goes to a sidecar directory, so no filesystem xattrs are needed.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from shim.cli.flyte.processes import Child, StartError, tcp_open

VERSITYGW_MODULE = "github.com/versity/versitygw"
VERSITYGW_VERSION = "v1.8.0"
REGION = "us-east-1"


@dataclass(frozen=True)
class ObjectStore:
    """An S3 endpoint and the credentials Flyte and its task pods use."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = REGION

    @property
    def port(self) -> int:
        return urlsplit(self.endpoint).port or 80

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or "127.0.0.1"


def credentials(root: Path) -> tuple[str, str]:
    """The gateway's root credentials, made on first start and kept (0600) under the data dir."""
    path = root / "root-credentials.json"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"access_key": "kubeshim" + secrets.token_hex(6),
                                    "secret_key": secrets.token_urlsafe(30)}))
        path.chmod(0o600)
    data = json.loads(path.read_text())
    return data["access_key"], data["secret_key"]


def versitygw_binary(cache: Path, progress: Callable[[str], None]) -> str:
    """versitygw on PATH, else the cached build, else built now from its Go module (needs Go)."""
    found = shutil.which("versitygw")
    if found:
        return found
    target = cache / f"versitygw-{VERSITYGW_VERSION}"
    if target.exists():
        return str(target)
    go = shutil.which("go")
    if go is None:
        raise StartError("no S3 server: kubeshim builds versitygw with Go (not found); install Go >= 1.25, put "
                         "versitygw on PATH, or pass --s3-endpoint for a store of your own")
    progress(f"building versitygw {VERSITYGW_VERSION} from its Go module (first use only; about a minute)")
    build = cache / f".versitygw-build-{os.getpid()}"
    build.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([go, "install", f"{VERSITYGW_MODULE}/cmd/versitygw@{VERSITYGW_VERSION}"],
                            env={**os.environ, "GOBIN": str(build), "CGO_ENABLED": "0"},
                            capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
        raise StartError(f"building versitygw failed: {lines[-1]}")
    (build / "versitygw").rename(target)
    shutil.rmtree(build, ignore_errors=True)
    return str(target)


def embedded(root: Path, port: int, bucket: str, binary: str, log_dir: Path) -> tuple[Child, ObjectStore]:
    access, secret = credentials(root)
    for sub in ("data", "meta", "iam"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ROOT_ACCESS_KEY": access, "ROOT_SECRET_KEY": secret}
    child = Child("object store", [binary, "--port", f"127.0.0.1:{port}", "--region", REGION,
                                   "--iam-dir", str(root / "iam"), "--quiet",
                                   "posix", "--sidecar", str(root / "meta"), str(root / "data")],
                  log_dir / "versitygw.log", ready=lambda: tcp_open(port), env=env, grace=10)
    return child, ObjectStore(f"http://127.0.0.1:{port}", access, secret, bucket)


def ensure_bucket(store: ObjectStore) -> None:
    """Create Flyte's bucket if it is missing (over S3, as any client would)."""
    if not tcp_open(store.port, store.host):
        raise StartError(f"cannot reach the object store at {store.endpoint}")
    try:
        from minio import Minio
        from minio.error import S3Error
    except ImportError as err:
        raise StartError("the S3 client is not installed: pip install 'kubeshim[flyte]'") from err
    parts = urlsplit(store.endpoint)
    client = Minio(parts.netloc, access_key=store.access_key, secret_key=store.secret_key,
                   secure=parts.scheme == "https", region=store.region)
    try:
        if not client.bucket_exists(store.bucket):
            client.make_bucket(store.bucket)
    except S3Error as err:
        raise StartError(f"object store {store.endpoint} refused bucket {store.bucket!r}: {err.code}: "
                         f"{err.message}") from err
    except Exception as err:  # noqa: BLE001 - urllib3/connection errors: one line for the user
        raise StartError(f"object store {store.endpoint}: {type(err).__name__}: {err}".splitlines()[0]) from err

