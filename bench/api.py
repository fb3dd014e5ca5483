"""API throughput and latency against any kubeconfig: creates, gets, lists, watch event delay, idle RSS.

Usage: python bench/api.py --kubeconfig ~/.kubeshim/kubeconfig [--clients 32] [--creates 5000] [--list-pods 10000]
       python bench/api.py --self   (starts a throwaway kubeshim --no-kubelet and measures it)
       python bench/api.py --self --against DIR [--rounds 5]   (also starts one from the checkout DIR, e.g. a
           `git worktree` of an older commit, and compares the two in one run)

The client is a small keep-alive HTTP/1.1 client on asyncio so that it costs the (shared) CPU as little as
possible; figures are medians/percentiles over all requests of a phase. With --against, every phase runs in
rounds that alternate between the two servers (which goes first alternates too), so a machine that slows
down mid-run slows both alike; each figure is the median over rounds, with the ratio this/against. Server CPU
per request (from /proc) is reported beside throughput: on a shared machine it is the steadier of the two.
Prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]


class Connection:
    """One keep-alive connection: request() sends and reads one response (Content-Length or chunked)."""

    def __init__(self, host: str, port: int, ssl_ctx: ssl.SSLContext | None, token: str) -> None:
        self.host, self.port, self.ssl_ctx, self.token = host, port, ssl_ctx, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl_ctx,
                                                                 limit=1 << 26)

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str = "application/json") -> tuple[int, bytes]:
        assert self.reader and self.writer
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Accept: application/json\r\nContent-Length: {len(body)}\r\n")
        if body:
            head += f"Content-Type: {content_type}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            if size == 0:
                await self.reader.readline()
                return status, b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def load_kubeconfig(path: Path) -> tuple[str, int, ssl.SSLContext | None, str]:
    cfg = yaml.safe_load(path.read_text())
    ctx_name = cfg["current-context"]
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
    url = urlparse(cluster["server"])
    ssl_ctx = None
    if url.scheme == "https":
        ssl_ctx = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ssl_ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        else:
            ssl_ctx.check_hostname = False
            ssl_ctx.verify_mode = ssl.CERT_NONE
    return url.hostname or "127.0.0.1", url.port or 443, ssl_ctx, user.get("token", "")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def pod(name: str) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": {"app": "bench", "shard": name[-1]}},
                       "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": ["true"],
                                                "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}],
                                "nodeName": "bench-nowhere"}}).encode()


def pod_protobuf(name: str) -> bytes:
    """The same pod as a client-go typed client sends it: a Kubernetes protobuf body."""
    sys.path.insert(0, str(ROOT))
    from shim.machinery import protobuf
    return protobuf.encode(json.loads(pod(name)))


def server_cpu_s(pid: int | None) -> float:
    """CPU seconds the server has used so far: per-request CPU is steady where throughput on a shared machine is not."""
    if pid is None:
        return 0.0
    import psutil
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@dataclass
class Target:
    """One server under measurement, with its open connections and the namespace the bench writes in."""
    label: str
    host: str
    port: int
    ssl_ctx: ssl.SSLContext | None
    token: str
    pid: int | None
    conns: list[Connection] = field(default_factory=list)
    ns: str = ""

    @property
    def pods(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/pods"


Job = tuple[str, str, bytes]


async def phase(target: Target, jobs: list[Job], expect: int, content_type: str = "application/json") -> dict:
    """Run `jobs` over all of the target's connections; throughput, latency percentiles and server CPU."""
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    failures = 0

    async def worker(conn: Connection) -> None:
        nonlocal failures
        while not queue.empty():
            method, path, body = queue.get_nowait()
            t0 = time.perf_counter()
            status, _ = await conn.request(method, path, body, content_type)
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != expect:
                failures += 1

    cpu0, t0 = server_cpu_s(target.pid), time.perf_counter()
    await asyncio.gather(*(worker(c) for c in target.conns))
    elapsed = time.perf_counter() - t0
    out = {"requests": len(jobs), "rate_per_s": round(len(jobs) / elapsed), "p50_ms": round(pct(latencies, 50), 2),
           "p99_ms": round(pct(latencies, 99), 2), "failures": failures}
    if target.pid is not None:
        out["server_cpu_ms_per_request"] = round((server_cpu_s(target.pid) - cpu0) * 1000 / len(jobs), 3)
    return out


async def list_all(target: Target) -> dict:
    timings = []
    for _ in range(7):
        t0 = time.perf_counter()
        status, body = await target.conns[0].request("GET", target.pods)
        timings.append((time.perf_counter() - t0) * 1000)
    return {"items": len(json.loads(body)["items"]), "median_ms": round(statistics.median(timings), 1),
            "bytes": len(body)}


async def watch_delay(target: Target, names: list[str]) -> dict:
    """Delay from sending a create to its ADDED event arriving on an open watch."""
    reader, writer = await asyncio.open_connection(target.host, target.port, ssl=target.ssl_ctx, limit=1 << 24)
    _, listed = await target.conns[0].request("GET", f"/api/v1/namespaces/{target.ns}/configmaps?limit=1")
    rv = json.loads(listed)["metadata"]["resourceVersion"]
    writer.write((f"GET /api/v1/namespaces/{target.ns}/configmaps?watch=1&resourceVersion={rv} HTTP/1.1\r\n"
                  f"Host: {target.host}\r\nAuthorization: Bearer {target.token}\r\n\r\n").encode())
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    seen: dict[str, float] = {}

    async def read_events() -> None:
        while len(seen) < len(names):
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size)
            await reader.readline()
            for line in chunk.splitlines():
                if line.strip():
                    event = json.loads(line)
                    seen[event["object"]["metadata"]["name"]] = time.perf_counter()

    task = asyncio.create_task(read_events())
    sent: dict[str, float] = {}
    for name in names:
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).encode()
        sent[name] = time.perf_counter()
        await target.conns[0].request("POST", f"/api/v1/namespaces/{target.ns}/configmaps", body)
        await asyncio.sleep(0.005)
    await asyncio.wait_for(task, 30)
    writer.close()
    delays = [max(0.0, (seen[n] - sent[n]) * 1000) for n in sent]
    return {"samples": len(names), "p50_ms": round(pct(delays, 50), 2), "p99_ms": round(pct(delays, 99), 2)}


def rss_mb(target: Target) -> float:
    import psutil
    assert target.pid is not None
    return round(psutil.Process(target.pid).memory_info().rss / 2**20, 1)


def report(name: str, results: dict[str, list[dict]]) -> None:
    """One line per phase: each target's figures (medians over rounds) and, for two targets, their ratios."""
    out: dict = {"phase": name}
    for label, rounds in results.items():
        medians = {key: float(statistics.median(r[key] for r in rounds)) for key in rounds[0]}
        out[label] = {key: int(v) if v.is_integer() else round(v, 3) for key, v in medians.items()}
    if len(results) == 2:
        (a, first), (b, second) = ((label, out[label]) for label in results)
        out[f"{a}/{b}"] = {key: round(first[key] / second[key], 3) for key in first
                           if key in ("rate_per_s", "server_cpu_ms_per_request", "p50_ms", "median_ms", "rss_mb")
                           and second[key]}
    if len(results) == 1:
        out.update(out.pop(next(iter(results))))
    print(json.dumps(out), flush=True)


async def run(targets: list[Target], clients: int, creates: int, list_pods: int, rounds: int) -> None:
    stamp = int(time.time())
    for target in targets:
        target.conns = [Connection(target.host, target.port, target.ssl_ctx, target.token) for _ in range(clients)]
        await asyncio.gather(*(c.open() for c in target.conns))
        target.ns = f"bench-{stamp}"
        await target.conns[0].request("POST", "/api/v1/namespaces", json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target.ns}}).encode())
    if all(t.pid for t in targets):
        report("idle-rss", {t.label: [{"rss_mb": rss_mb(t)}] for t in targets})

    async def rounds_of(name: str, measure: Callable[[Target, int], Awaitable[dict]]) -> None:
        """`measure(target, round)` for every round and target, the order of targets alternating by round."""
        results: dict[str, list[dict]] = {t.label: [] for t in targets}
        for r in range(rounds):
            for target in targets[r % len(targets):] + targets[:r % len(targets)]:
                results[target.label].append(await measure(target, r))
        report(name, results)

    per_round = creates // rounds
    await rounds_of(f"create pods ({clients} clients)", lambda t, r: phase(
        t, [("POST", t.pods, pod(f"p{r}-{i}")) for i in range(per_round)], 201))
    await rounds_of(f"create pods, protobuf bodies ({clients} clients)", lambda t, r: phase(
        t, [("POST", t.pods, pod_protobuf(f"b{r}-{i}")) for i in range(per_round)], 201,
        "application/vnd.kubernetes.protobuf"))
    await rounds_of(f"get pod ({clients} clients)", lambda t, r: phase(
        t, [("GET", f"{t.pods}/p{r}-{i}", b"") for i in range(per_round)], 200))
    await rounds_of(f"list 100 pods by label ({clients} clients)", lambda t, r: phase(
        t, [("GET", f"{t.pods}?labelSelector=shard%3D1&limit=100", b"")] * (1000 // rounds), 200))
    fill = list_pods - 2 * per_round * rounds
    for target in targets if fill > 0 else []:
        await phase(target, [("POST", target.pods, pod(f"q{i}")) for i in range(fill)], 201)
    await rounds_of(f"list all pods ({list_pods} items, JSON)", lambda t, r: list_all(t))
    await rounds_of("watch-delay", lambda t, r: watch_delay(t, [f"w{r}-{i}" for i in range(200 // rounds)]))
    if all(t.pid for t in targets):
        report("rss-after", {t.label: [{"rss_mb": rss_mb(t)}] for t in targets})
    for target in targets:
        for c in target.conns:
            c.close()


def start_throwaway(tree: Path) -> tuple[subprocess.Popen, Path]:
    """A `kubeshim up --no-kubelet` from the checkout `tree`, on a temporary data dir: its process and kubeconfig."""
    data = Path(tempfile.mkdtemp(prefix="kubeshim-bench-")) / "data"
    data.mkdir()
    port = free_port()
    log = open(data.parent / "kubeshim.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "shim", "up", "--data-dir", str(data), "--port", str(port),
                             "--no-kubelet"], cwd=tree, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not (data / "kubeconfig").exists() or not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"kubeshim from {tree} did not start; see {data.parent / 'kubeshim.log'}")
        time.sleep(0.1)
    return proc, data / "kubeconfig"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path,
                        default=Path(os.environ.get("KUBECONFIG", "~/.kubeshim/kubeconfig")).expanduser())
    parser.add_argument("--self", action="store_true", help="start a throwaway kubeshim and measure it")
    parser.add_argument("--against", type=Path, help="with --self: also start one from this checkout and compare")
    parser.add_argument("--rounds", type=int, help="rounds per phase (default 1, or 5 with --against)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--list-pods", type=int, default=10000)
    parser.add_argument("--pid", type=int, help="server pid, for RSS and CPU figures")
    args = parser.parse_args()
    if args.against and not args.self:
        parser.error("--against needs --self")
    procs: list[subprocess.Popen] = []
    targets: list[Target] = []
    try:
        if args.self:
            for label, tree in (("this", ROOT), ("against", args.against)):
                if tree is None:
                    continue
                proc, kubeconfig = start_throwaway(tree.resolve())
                procs.append(proc)
                targets.append(Target(label, *load_kubeconfig(kubeconfig), proc.pid))
            time.sleep(2)
        else:
            targets.append(Target("this", *load_kubeconfig(args.kubeconfig), args.pid))
        rounds = args.rounds or (5 if len(targets) > 1 else 1)
        asyncio.run(run(targets, args.clients, args.creates, max(args.list_pods, args.creates * 2), rounds))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
