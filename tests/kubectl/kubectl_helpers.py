"""Running kubectl as a subprocess and reading what it prints (shared by the kubectl tier's tests)."""
from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Background:
    """A kubectl running in the background (get -w, wait) whose output lines are read as they come."""

    process: subprocess.Popen
    lines: "queue.Queue[str]" = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, predicate: Any, timeout: float = 20) -> str:
        """The first output line for which predicate(line) holds; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no matching line within {timeout}s; got {seen!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@dataclass
class Kubectl:
    """One kubectl binary pointed at the server, with a private HOME and cache."""

    version: str
    binary: str
    home: Path
    kubeconfig: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env.update({"HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig), "KUBECTL_EXTERNAL_DIFF": ""})
        return env

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [self.binary, f"--cache-dir={self.home / 'cache'}", *args]

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(args), input=input, capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env or {})})

    def ok(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
        """stdout of a command that must succeed."""
        result = self.run(*args, input=input, env=env)
        assert result.returncode == 0, (f"kubectl {self.version} {' '.join(args)} exited {result.returncode}\n"
                                        f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result.stdout

    def fails(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, input=input)
        assert result.returncode != 0, f"kubectl {' '.join(args)} succeeded: {result.stdout}"
        return result

    def background(self, *args: str) -> Background:
        process = subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=self.env)
        return Background(process)

    def create(self, manifest: dict[str, Any] | str, *args: str) -> str:
        """Create from stdin (setup for tests about something else)."""
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
        return self.ok("create", "-f", "-", *args, input=text)

    def get_json(self, *args: str) -> Any:
        return yaml.safe_load(self.ok("get", *args, "-o", "json"))

    def deleted(self, what: str, namespace: str) -> str:
        """What `kubectl delete` prints for a namespaced object: from 1.34 on it names the namespace."""
        minor = int(self.version.split(".")[1])
        return f"{what} deleted from {namespace} namespace" if minor >= 34 else f"{what} deleted"


def table(output: str) -> list[list[str]]:
    """kubectl's column output split on runs of two or more spaces (cells may hold single spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()]


def header(output: str) -> list[str]:
    return table(output)[0]


def row(output: str, name: str) -> dict[str, str]:
    """The row whose NAME is `name`, as a dict keyed by column header."""
    rows = table(output)
    head = rows[0]
    for cells in rows[1:]:
        record = dict(zip(head, cells, strict=False))
        if record.get("NAME") == name:
            return record
    raise AssertionError(f"no row named {name!r} in:\n{output}")
