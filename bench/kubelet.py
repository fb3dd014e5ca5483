"""Pod start-up latency through the kubelet: create -> Running seen on a watch, create -> Succeeded for `true`.

Usage: python bench/kubelet.py --self [--pods 200] [--rate 20]
       python bench/kubelet.py --kubeconfig FILE
Pods are created at a steady rate (as the sig-scalability pod start-up SLO is measured), each timestamped at
send; a watch opened beforehand records when each pod is first seen Running and Succeeded. Prints p50/p99.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import ROOT, Connection, load_kubeconfig, pct  # noqa: E402


def pod(name: str, command: list[str]) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                                "containers": [{"name": "main", "image": "python:3.11", "command": command}]}}
                      ).encode()


async def measure(host: str, port: int, ssl_ctx, token: str, ns: str, count: int, rate: float,
                  command: list[str], until: str) -> list[float]:
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_ctx, limit=1 << 24)
    conn = Connection(host, port, ssl_ctx, token)
    await conn.open()
    _, body = await conn.request("GET", f"/api/v1/namespaces/{ns}/pods?limit=1")
    rv = json.loads(body)["metadata"]["resourceVersion"]
    writer.write((f"GET /api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    prefix = f"{until.lower()}-"
    sent: dict[str, float] = {}
    reached: dict[str, float] = {}

    async def read_events() -> None:
        buffer = b""
        while len(reached) < count:
            size = int((await reader.readline()).strip(), 16)
            buffer += await reader.readexactly(size)
            await reader.readline()
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                obj = json.loads(line)["object"]
                name = obj["metadata"]["name"]
                if name.startswith(prefix) and name not in reached and \
                        (obj.get("status") or {}).get("phase") == until:
                    reached[name] = time.perf_counter()

    watcher = asyncio.create_task(read_events())
    for i in range(count):
        name = f"{prefix}{i}"
        sent[name] = time.perf_counter()
        status, _ = await conn.request("POST", f"/api/v1/namespaces/{ns}/pods", pod(name, command))
        assert status == 201, status
        await asyncio.sleep(max(0.0, sent[name] + 1 / rate - time.perf_counter()))
    await asyncio.wait_for(watcher, 120)
    await conn.request("DELETE", f"/api/v1/namespaces/{ns}/pods", b"")
    conn.close()
    writer.close()
    return [(reached[n] - sent[n]) * 1000 for n in sent]


async def run(kubeconfig: Path, count: int, rate: float) -> None:
    host, port, ssl_ctx, token = load_kubeconfig(kubeconfig)
    ns = f"kbench-{int(time.time())}"
    conn = Connection(host, port, ssl_ctx, token)
    await conn.open()
    await conn.request("POST", "/api/v1/namespaces",
                       json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).encode())
    conn.close()
    for until, command in (("Running", ["sleep", "3"]), ("Succeeded", ["true"])):
        latencies = await measure(host, port, ssl_ctx, token, ns, count, rate, command, until)
        print(json.dumps({"phase": f"create -> {until} ({' '.join(command)}; {count} pods at {rate}/s)",
                          "p50_ms": round(pct(latencies, 50), 1), "p99_ms": round(pct(latencies, 99), 1),
                          "max_ms": round(max(latencies), 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--self", action="store_true", help="start a throwaway kubeshim with its kubelet")
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="pods created per second")
    args = parser.parse_args()
    server = None
    if args.self:
        sys.path.insert(0, str(ROOT / "tests"))
        from harness import start_kubeshim
        server = start_kubeshim(Path(tempfile.mkdtemp(prefix="kubeshim-kbench-")) / "data")
        args.kubeconfig = server.kubeconfig
        time.sleep(2)
    try:
        asyncio.run(run(args.kubeconfig, args.pods, args.rate))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
