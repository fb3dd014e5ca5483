"""Sending fuzz requests and judging the answers.

Every answer must come within `TIMEOUT` (a stream: its headers), be below 500, and when it refuses (>= 400)
be a well-formed Status whose code is the HTTP status; a refused request must change nothing stored. kubeshim
keeps one global revision that every stored change moves, so a refused request's change shows as a revision
that moved between the answer before it and the one after (the server under fuzz runs no controllers, and
waits out the loops a successful write may start, so nothing else writes meanwhile). Every object's content is
compared at checkpoints too: an object whose resourceVersion did not move must read the same (a refused
request that mutated a cached object without storing it).
"""
from __future__ import annotations

import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import orjson
import yaml

from spec import Spec
from strategies import Request

#: what the run measured, by test, for the session's summary (conftest.py prints it)
FIGURES: dict[str, dict[str, Any]] = {}
TIMEOUT = 10.0
#: where the fuzzer's namespaced objects go (and most of its namespaced requests)
NAMESPACE = "fuzz"
#: resources whose successful writes start a loop the API server always runs (CRD status, APIServices,
#: flow-control conditions): its writes are waited out before the next request is judged
LOOPS = ("/customresourcedefinitions", "/apiservices", "/flowschemas", "/prioritylevelconfigurations")


@dataclass
class Answer:
    code: int | None  # None: no answer within TIMEOUT
    content_type: str = ""
    body: bytes = b""
    error: str = ""  # the transport's complaint, when the connection failed


def client(url: str, ca: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca),
                        headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(TIMEOUT, connect=5.0))


def send(http: httpx.Client, request: Request) -> Answer:
    """One request; a stream (a watch) is answered once its headers came."""
    built = http.build_request(request.method, request.path, params=list(request.params),
                               headers=list(request.headers), content=request.content)
    try:
        resp = http.send(built, stream=True)
    except httpx.TimeoutException:
        return Answer(None)
    except httpx.TransportError as exc:
        return Answer(0, error=f"{type(exc).__name__}: {exc}")
    try:
        body = b"" if request.streams and resp.status_code == 200 else resp.read()
    except httpx.TimeoutException:
        return Answer(None)
    except httpx.TransportError as exc:
        return Answer(0, error=f"{type(exc).__name__}: {exc}")
    finally:
        resp.close()
    return Answer(resp.status_code, resp.headers.get("content-type", ""), body)


def status_problem(answer: Answer) -> str | None:
    """What is wrong with a refusal's body, which must be a metav1 Status saying the same code; or, for a path
    no handler serves, the text/plain 404 of upstream's HTTP mux."""
    media = answer.content_type.split(";")[0].strip()
    if (answer.code, media, answer.body) == (404, "text/plain", b"404 page not found\n"):
        return None
    try:
        if media == "application/json":
            status = orjson.loads(answer.body)
        elif media == "application/yaml":
            status = yaml.safe_load(answer.body)
        else:
            return f"a {media or 'untyped'} body"
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        return f"unparsable {media}: {exc}"
    if not isinstance(status, dict):
        return "not an object"
    expected = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": answer.code}
    wrong = {k: status.get(k) for k, v in expected.items() if status.get(k) != v}
    if wrong:
        return f"{wrong} where a Status says {expected}"
    if not isinstance(status.get("message"), str) or not isinstance(status.get("reason", ""), str):
        return "message or reason is not a string"
    return None


def revision(http: httpx.Client) -> int:
    """The store's global revision, as any list answers it."""
    return int(http.get("/api/v1/namespaces", params={"limit": "1"}).json()["metadata"]["resourceVersion"])


def settle(http: httpx.Client, quiet: float = 0.1, longest: float = 5.0) -> int:
    """The revision once it stopped moving for `quiet` seconds."""
    deadline = time.monotonic() + longest
    last = revision(http)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = revision(http)
        if now == last:
            return now
        last = now
    return last


def snapshot(http: httpx.Client, spec: Spec) -> dict[tuple[str, str, str], tuple[str, Any]]:
    """Every object of every resource, by (collection, namespace, name): its resourceVersion and content."""
    out: dict[tuple[str, str, str], tuple[str, Any]] = {}
    for op in spec.operations:
        if op.action != "list" or "{" in op.path:
            continue
        resp = http.get(op.path)
        if resp.status_code != 200:
            continue
        for item in resp.json().get("items") or []:
            meta = item.get("metadata") or {}
            out[(op.path, meta.get("namespace", ""), meta.get("name", ""))] = (meta.get("resourceVersion"), item)
    return out


@dataclass
class Fuzz:
    """A run: requests sent one at a time, what came back, and every broken rule with its request."""

    connect: Callable[[], httpx.Client]
    spec: Spec
    http: httpx.Client = field(init=False)
    codes: Counter[str] = field(default_factory=Counter)
    #: per operation: how many requests, and how many of them succeeded
    reached: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    sent: int = 0
    last_revision: int = 0
    checkpoint: dict[tuple[str, str, str], tuple[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = self.connect()

    def start(self) -> None:
        self.last_revision = settle(self.http)
        self.checkpoint = snapshot(self.http, self.spec)

    def __call__(self, request: Request) -> None:
        answer = send(self.http, request)
        self.sent += 1
        self.codes[str(answer.code) if answer.code else ("hang" if answer.code is None else "no answer")] += 1
        self.reached[request.operation.label] += 1
        if answer.code and answer.code < 300:
            self.succeeded[request.operation.label] += 1
        if answer.code is None:
            self.problems.append(f"no answer within {TIMEOUT:.0f}s: {request.describe()}")
            self.http.close()
            self.http = self.connect()
        elif answer.code == 0 or answer.code >= 500:
            self.problems.append(f"{answer.code or answer.error}: {request.describe()}\n  -> {answer.body[:300]!r}")
        elif answer.code >= 400:
            problem = status_problem(answer)
            if problem:
                self.problems.append(f"{answer.code} with {problem}: {request.describe()}\n"
                                     f"  -> {answer.body[:300]!r}")
        if answer.code is None or answer.code >= 400:
            now = revision(self.http)
            if now != self.last_revision:
                self.problems.append(f"refused ({answer.code}) yet the revision moved {self.last_revision} -> "
                                     f"{now}: {request.describe()}")
            self.last_revision = now
        elif request.method != "GET":
            loop = any(part in request.path for part in LOOPS)
            self.last_revision = settle(self.http) if loop else revision(self.http)
        if self.sent % 1000 == 0:
            self.compare_checkpoint()

    def compare_checkpoint(self) -> None:
        """Objects whose resourceVersion stayed must read as they did at the last checkpoint."""
        now = snapshot(self.http, self.spec)
        for key, (rv, item) in now.items():
            before = self.checkpoint.get(key)
            if before is not None and before[0] == rv and before[1] != item:
                self.problems.append(f"{key} changed without a new resourceVersion ({rv}): "
                                     f"{orjson.dumps(before[1])[:300]!r} -> {orjson.dumps(item)[:300]!r}")
        self.checkpoint = now
