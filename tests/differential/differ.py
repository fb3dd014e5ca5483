"""Running one scenario against kube-apiserver and kubeshim at once, and comparing what they answered.

A scenario is a plain function of a `Side`: it drives one server (raw HTTP, watches, kubectl) and records each
answer under a step label. `Pair.run` runs it on both servers concurrently, normalises both transcripts
(normalize.py), diffs them field by field and checks the differences against the allow-list
(known_differences.py): a difference not listed fails the test, showing both versions side by side; a listed
difference that no longer occurs fails it too (a stale entry).
"""
from __future__ import annotations

import difflib
import json
import subprocess
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml

import known_differences
import protowire
from harness import wait_for
from normalize import generate_prefixes, kubectl_table, normalize, token

REF, SHIM = "kube-apiserver", "kubeshim"
MISSING = "<absent>"
EXCEPTION = "<exception>"
DIFF = "diff -u -N --label=live --label=merged"  # `kubectl diff` without temporary paths and file times
Obj = dict[str, Any]


@dataclass
class Server:
    """What a side needs of a running server (harness.Kubeshim and reference.Reference both fit)."""

    name: str
    url: str
    token: str
    ca: str
    kubeconfig: Path
    kubectl: str
    home: Path


@dataclass
class Side:
    """One server as a scenario drives it, and the transcript of its answers (step label -> raw record)."""

    server: Server
    ns: str
    http: httpx.Client
    steps: dict[str, Any] = field(default_factory=dict)
    prefixes: set[str] = field(default_factory=set)  # generateName prefixes the scenario sent (normalize.py, 4)

    @property
    def name(self) -> str:
        return self.server.name

    def record(self, label: str, value: Any) -> Any:
        """Keep `value` (anything JSON-shaped) as step `label` of the transcript; returns it."""
        if label in self.steps:
            raise AssertionError(f"step {label!r} recorded twice")
        self.steps[label] = value
        return value

    def request(self, label: str | None, method: str, path: str, *, body: Any = None,
                content: bytes | str | None = None, content_type: str | None = None, accept: str | None = None,
                params: Obj | None = None, token: str | None = None, timeout: float = 30,
                view: Callable[[Any], Any] | None = None) -> httpx.Response:
        """One HTTP request; recorded (code, content type, warnings, parsed body) unless `label` is None (setup).
        `view` picks what a successful body's comparison is about (a list's names...); failures are kept whole."""
        headers: dict[str, str] = {}
        if body is not None:
            generate_prefixes(body, self.prefixes)
            content = json.dumps(body)
            headers["Content-Type"] = content_type or "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        if token is not None:
            headers["Authorization"] = f"Bearer {token}" if token else ""
        resp = self.http.request(method, path, content=content, headers=headers, params=params, timeout=timeout)
        if label is not None:
            record = response_record(resp)
            if view is not None and resp.status_code < 300:
                record["body"] = view(record["body"])
            self.record(label, record)
        return resp

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> Obj:
        """An unrecorded setup request that must succeed; its JSON body."""
        resp = self.request(None, method, path, body=body, **kw)
        if resp.status_code >= 300:
            raise AssertionError(f"{self.name}: {method} {path} answered {resp.status_code}: {resp.text[:2000]}")
        return resp.json()

    def watch(self, label: str, path: str, params: Obj, *, count: int | None = None,
              until: Callable[[Obj], bool] | None = None, accept: str | None = None, timeout: float = 15,
              after_open: Callable[[], None] | None = None, view: Callable[[Obj], Any] | None = None) -> list[Obj]:
        """A watch stream read until `count` events, an event matching `until`, or its end; recorded as the
        response's code and content type and the list of events (each through `view` when given). `after_open`
        runs once the stream's headers arrived (the writes whose events the scenario expects)."""
        events: list[Obj] = []
        headers = {"Accept": accept} if accept else {}
        if "/watch/" not in path:
            params = {**params, "watch": "true"}
        with self.http.stream("GET", path, params=params, headers=headers,
                              timeout=httpx.Timeout(timeout)) as resp:
            record: Obj = {"code": resp.status_code, "type": resp.headers.get("content-type", "")}
            if resp.status_code != 200:
                resp.read()
                record["body"] = _parse(resp.headers.get("content-type", ""), resp.content)
            else:
                if after_open:
                    after_open()
                try:
                    for line in resp.iter_lines():
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        events.append(event)
                        if (count is not None and len(events) >= count) or (until is not None and until(event)):
                            break
                except httpx.ReadTimeout:
                    record["timed out after events"] = len(events)
                record["events"] = [view(e) for e in events] if view else events
        self.record(label, record)
        return events

    def kubectl(self, label: str | None, *args: str, input: str | None = None, parse: str = "text",
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """kubectl against this server (its own HOME and cache); recorded as exit code, stdout parsed as
        `parse` (text, json, yaml, table, token) and stderr."""
        env = {"HOME": str(self.server.home), "KUBECONFIG": str(self.server.kubeconfig), "PATH": "/usr/bin:/bin",
               "KUBECTL_EXTERNAL_DIFF": DIFF}
        argv = [self.server.kubectl, f"--cache-dir={self.server.home / 'cache'}", *args]
        proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, env=env)
        if label is not None:
            self.record(label, {"exit": proc.returncode, "stdout": _kubectl_output(proc.stdout, parse),
                                "stderr": _kubectl_stderr(proc.stderr)})
        return proc


def without_managed_fields(value: Any) -> Any:
    """A view for scenarios about something else (formats, tables): managedFields are judged by
    test_managed_fields.py, once, not again in every object a response embeds."""
    if isinstance(value, dict):
        return {k: without_managed_fields(v) for k, v in value.items() if k != "managedFields"}
    if isinstance(value, list):
        return [without_managed_fields(v) for v in value]
    return value


def _kubectl_output(text: str, parse: str) -> Any:
    if not text.strip():
        return text
    if parse == "json":
        return json.loads(text)
    if parse == "yaml":
        return list(yaml.safe_load_all(text))
    if parse == "table":
        return kubectl_table(text)
    if parse == "token":
        return token(text.strip())
    return text.splitlines()


def _kubectl_stderr(text: str) -> list[str]:
    """stderr lines without client-side throttling notes (timing, not the server's answer)."""
    return [line for line in text.splitlines() if "throttling" not in line]


def _parse(content_type: str, content: bytes) -> Any:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/vnd.kubernetes.protobuf":
        return protowire.decode(content)
    text = content.decode(errors="replace")
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if media == "application/yaml":
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    return text


def response_record(resp: httpx.Response) -> Obj:
    record: Obj = {"code": resp.status_code, "type": resp.headers.get("content-type", ""),
                   "body": _parse(resp.headers.get("content-type", ""), resp.content)}
    warnings = resp.headers.get_list("warning")
    if warnings:
        record["warnings"] = warnings
    return record


# ----- comparing -----

@dataclass(frozen=True)
class Difference:
    path: tuple[str, ...]
    ref: Any
    shim: Any

    @property
    def where(self) -> str:
        return render_path(self.path)


def render_path(path: tuple[str, ...]) -> str:
    """JSON-pointer style: components joined by '/', with '~' and '/' inside them escaped as ~0 and ~1."""
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)


IDENTITY_KEYS = ("name", "resource", "subresource", "version", "groupVersion")  # discovery's lists are keyed by these


def _identity(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("manager"), str):  # a managedFields entry
        return ":".join(filter(None, (item["manager"], item.get("operation"), item.get("subresource"))))
    meta = item.get("metadata")
    if isinstance(meta, dict):
        name = meta.get("name")
        return name if isinstance(name, str) else None
    for key in IDENTITY_KEYS:
        if isinstance(item.get(key), str):
            return item[key]
    return None


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of named things (objects, containers, API resources) by name, when every item has a distinct one."""
    names = [_identity(item) for item in items]
    if not items or None in names or len(set(names)) != len(names):
        return None
    return dict(zip(names, items, strict=True))  # type: ignore[arg-type]


def diff(ref: Any, shim: Any, path: tuple[str, ...] = ()) -> list[Difference]:
    """Field-by-field differences. Lists of named things are matched by name, lists of scalars compared whole
    (or as `<order>` when only their order differs), other lists by position."""
    if isinstance(ref, dict) and isinstance(shim, dict):
        out: list[Difference] = []
        for key in [*ref, *(k for k in shim if k not in ref)]:
            a, b = ref.get(key, MISSING), shim.get(key, MISSING)
            if MISSING in (a, b):
                if a != b:
                    out.append(Difference((*path, str(key)), a, b))
            else:
                out.extend(diff(a, b, (*path, str(key))))
        return out
    if isinstance(ref, list) and isinstance(shim, list):
        a_keyed, b_keyed = _keyed(ref), _keyed(shim)
        if a_keyed is not None and b_keyed is not None:
            order = list(a_keyed) != list(b_keyed) and set(a_keyed) == set(b_keyed)
            return ([Difference((*path, "<order>"), list(a_keyed), list(b_keyed))] if order else []) \
                + diff(a_keyed, b_keyed, path)
        if all(not isinstance(x, (dict, list)) for x in ref + shim):
            if ref == shim:
                return []
            if sorted(map(json.dumps, ref)) == sorted(map(json.dumps, shim)):
                return [Difference((*path, "<order>"), ref, shim)]
            return [Difference(path, ref, shim)]
        out = []
        for i in range(max(len(ref), len(shim))):
            a = ref[i] if i < len(ref) else MISSING
            b = shim[i] if i < len(shim) else MISSING
            out.extend(diff(a, b, (*path, str(i))) if MISSING not in (a, b) else [Difference((*path, str(i)), a, b)])
        return out
    return [] if ref == shim else [Difference(path, ref, shim)]


def normalized(side: Side) -> dict[str, Any]:
    return normalize(side.steps, generate_prefixes(side.steps, set(side.prefixes)))


def _pretty(value: Any, width: int) -> list[str]:
    """Indented JSON with sorted keys (so both sides line up), long lines wrapped at `width`."""
    lines = json.dumps(value, indent=1, sort_keys=True, default=str).splitlines()
    return [line[i:i + width] for line in lines for i in range(0, max(len(line), 1), width)]


def side_by_side(ref: Any, shim: Any, width: int = 78, context: int = 3) -> str:
    """Both versions in two columns, like `diff -y`, around the lines that differ."""
    a, b = _pretty(ref, width), _pretty(shim, width)
    out = [f"{REF:<{width}} | {SHIM}"]
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        out.append("-" * (2 * width + 3))
        for tag, i1, i2, j1, j2 in group:
            left, right = a[i1:i2], b[j1:j2]
            mark = {"equal": " ", "replace": "|", "delete": "<", "insert": ">"}[tag]
            for k in range(max(len(left), len(right))):
                la = left[k] if k < len(left) else ""
                lb = right[k] if k < len(right) else ""
                out.append(f"{la:<{width}} {mark} {lb}")
    return "\n".join(out)


def _short(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def report(scenario: str, unexpected: list[Difference], stale: list[tuple[known_differences.Known, str]],
           ref_steps: dict[str, Any], shim_steps: dict[str, Any]) -> str:
    lines = [f"scenario {scenario}:"]
    if unexpected:
        lines.append(f"{len(unexpected)} difference(s) not in tests/differential/known_differences.py:")
        for d in unexpected:
            lines += [f"  {d.where}", f"    {REF}: {_short(d.ref)}", f"    {SHIM}: {_short(d.shim)}"]
        for step in dict.fromkeys(d.path[0] for d in unexpected if d.path):
            lines += ["", f"step {step!r}:", side_by_side(ref_steps.get(step, MISSING), shim_steps.get(step, MISSING))]
    for entry, pattern in stale:
        lines.append(f"stale allow-list entry: {pattern!r} no longer differs in this scenario "
                     f"({entry.item}: {entry.reason}); delete it from known_differences.py")
    return "\n".join(lines)


# ----- running -----

@dataclass
class Pair:
    """Both servers, ready for one test's scenario in namespace `ns` (which exists on both)."""

    scenario: str
    ns: str
    servers: tuple[Server, Server]
    clients: tuple[httpx.Client, httpx.Client]

    def run(self, scenario: Callable[[Side], None]) -> None:
        sides = [Side(server, self.ns, client) for server, client in zip(self.servers, self.clients, strict=True)]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda side: _run_side(scenario, side), sides))
        if all(EXCEPTION in side.steps for side in sides):
            pytest.fail(f"scenario {self.scenario} raised on both servers (a bug in the scenario?):\n"
                        + "\n".join(f"{side.name}: {side.steps[EXCEPTION]}" for side in sides), pytrace=False)
        ref_steps, shim_steps = normalized(sides[0]), normalized(sides[1])
        differences = diff(ref_steps, shim_steps)
        unexpected, stale = known_differences.check(self.scenario, differences)
        if unexpected or stale:
            pytest.fail(report(self.scenario, unexpected, stale, ref_steps, shim_steps), pytrace=False)


def _run_side(scenario: Callable[[Side], None], side: Side) -> None:
    """A scenario that raised on one server is a difference too: the exception becomes the last step."""
    try:
        scenario(side)
    except Exception as exc:  # noqa: BLE001 - recorded and compared, never swallowed
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)
                      if "differential" in f.filename and "differ.py" not in f.filename), "")
        side.steps[EXCEPTION] = f"{type(exc).__name__} at {where}: {exc}"


def make_namespace(server: Server, client: httpx.Client, name: str) -> None:
    """Create `name` and wait for its `default` ServiceAccount (pods cannot be created before it exists)."""
    resp = client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": name}})
    assert resp.status_code == 201, f"{server.name}: creating namespace {name}: {resp.text}"
    wait_for(lambda: client.get(f"/api/v1/namespaces/{name}/serviceaccounts/default").status_code == 200,
             30, f"{server.name}: the default ServiceAccount of {name}", interval=0.1)

