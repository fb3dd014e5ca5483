"""API throughput and latency against any kubeconfig: creates, gets, lists, watch event delay, idle RSS.

Usage: python bench/api.py --kubeconfig ~/.kubeshim/kubeconfig [--clients 32] [--creates 5000] [--list-pods 10000]
       python bench/api.py --self   (starts a throwaway kubeshim --no-kubelet and measures it)

The client is a small keep-alive HTTP/1.1 client on asyncio so that it costs the (shared) CPU as little as
possible; figures are medians/percentiles over all requests of a phase. Prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
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


async def phase(name: str, conns: list[Connection], jobs: list[tuple[str, str, bytes]], expect: int,
                content_type: str = "application/json", server_pid: int | None = None) -> dict:
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
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

    cpu0, t0 = server_cpu_s(server_pid), time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    out = {"phase": name, "requests": len(jobs), "rate_per_s": round(len(jobs) / elapsed),
           "p50_ms": round(pct(latencies, 50), 2), "p99_ms": round(pct(latencies, 99), 2), "failures": failures}
    if server_pid is not None:
        out["server_cpu_ms_per_request"] = round((server_cpu_s(server_pid) - cpu0) * 1000 / len(jobs), 3)
    print(json.dumps(out), flush=True)
    return out


async def watch_delay(host: str, port: int, ssl_ctx: ssl.SSLContext | None, token: str, ns: str,
                      samples: int) -> dict:
    """Delay from sending a create to its ADDED event arriving on an open watch."""
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_ctx, limit=1 << 24)
    _, rv_body = await _get_list_rv(host, port, ssl_ctx, token, ns)
    writer.write((f"GET /api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv_body} HTTP/1.1\r\n"
                  f"Host: {host}\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    seen: dict[str, float] = {}

    async def read_events() -> None:
        while len(seen) < samples:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size)
            await reader.readline()
            for line in chunk.splitlines():
                if line.strip():
                    event = json.loads(line)
                    seen[event["object"]["metadata"]["name"]] = time.perf_counter()

    task = asyncio.create_task(read_events())
    conn = Connection(host, port, ssl_ctx, token)
    await conn.open()
    sent: dict[str, float] = {}
    for i in range(samples):
        name = f"w{i}"
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}).encode()
        sent[name] = time.perf_counter()
        await conn.request("POST", f"/api/v1/namespaces/{ns}/configmaps", body)
        await asyncio.sleep(0.005)
    await asyncio.wait_for(task, 30)
    delays = [max(0.0, (seen[n] - sent[n]) * 1000) for n in sent]
    conn.close()
    writer.close()
    out = {"phase": "watch-delay", "samples": samples, "p50_ms": round(pct(delays, 50), 2),
           "p99_ms": round(pct(delays, 99), 2)}
    print(json.dumps(out), flush=True)
    return out


async def _get_list_rv(host: str, port: int, ssl_ctx: ssl.SSLContext | None, token: str, ns: str) -> tuple[int, str]:
    conn = Connection(host, port, ssl_ctx, token)
    await conn.open()
    status, body = await conn.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1")
    conn.close()
    return status, json.loads(body)["metadata"]["resourceVersion"]


async def run(kubeconfig: Path, clients: int, creates: int, list_pods: int, server_pid: int | None) -> None:
    host, port, ssl_ctx, token = load_kubeconfig(kubeconfig)
    conns = [Connection(host, port, ssl_ctx, token) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in conns))
    ns = f"bench-{int(time.time())}"
    if server_pid:
        import psutil
        rss = psutil.Process(server_pid).memory_info().rss
        print(json.dumps({"phase": "idle-rss", "rss_mb": round(rss / 2**20, 1)}))
    await conns[0].request("POST", "/api/v1/namespaces",
                           json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).encode())
    base = f"/api/v1/namespaces/{ns}/pods"
    json_create = await phase(f"create pods ({clients} clients)", conns,
                              [("POST", base, pod(f"p{i}")) for i in range(creates)], 201, server_pid=server_pid)
    proto_create = await phase(f"create pods, protobuf bodies ({clients} clients)", conns,
                               [("POST", base, pod_protobuf(f"b{i}")) for i in range(creates)], 201,
                               "application/vnd.kubernetes.protobuf", server_pid)
    print(json.dumps({"phase": "protobuf/json create throughput ratio",
                      "ratio": round(proto_create["rate_per_s"] / json_create["rate_per_s"], 2)}), flush=True)
    await phase(f"get pod ({clients} clients)", conns, [("GET", f"{base}/p{i % creates}", b"") for i in range(creates)],
                200, server_pid=server_pid)
    await phase(f"list 100 pods by label ({clients} clients)", conns,
                [("GET", f"{base}?labelSelector=shard%3D1&limit=100", b"") for _ in range(1000)], 200,
                server_pid=server_pid)
    if list_pods > 2 * creates:
        extra = [("POST", base, pod(f"q{i}")) for i in range(list_pods - 2 * creates)]
        await phase("fill for the big list", conns, extra, 201)
    timings = []
    for _ in range(7):
        t0 = time.perf_counter()
        status, body = await conns[0].request("GET", base)
        timings.append((time.perf_counter() - t0) * 1000)
    count = len(json.loads(body)["items"])
    print(json.dumps({"phase": f"list all pods ({count} items, JSON)",
                      "median_ms": round(statistics.median(timings), 1), "bytes": len(body)}), flush=True)
    await watch_delay(host, port, ssl_ctx, token, ns, 200)
    if server_pid:
        import psutil
        rss = psutil.Process(server_pid).memory_info().rss
        print(json.dumps({"phase": "rss-after", "rss_mb": round(rss / 2**20, 1)}))
    for c in conns:
        c.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path,
                        default=Path(os.environ.get("KUBECONFIG", "~/.kubeshim/kubeconfig")).expanduser())
    parser.add_argument("--self", action="store_true", help="start a throwaway kubeshim and measure it")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--list-pods", type=int, default=10000)
    parser.add_argument("--pid", type=int, help="server pid, for RSS figures")
    args = parser.parse_args()
    proc = None
    if args.self:
        data = Path(tempfile.mkdtemp(prefix="kubeshim-bench-"))
        sys.path.insert(0, str(ROOT / "tests"))
        from harness import start_kubeshim
        server = start_kubeshim(data / "data", "--no-kubelet")
        proc = server.process
        time.sleep(2)
        args.kubeconfig, args.pid = server.kubeconfig, proc.pid
    try:
        asyncio.run(run(args.kubeconfig, args.clients, args.creates, args.list_pods, args.pid))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
