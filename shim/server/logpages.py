"""Task-log pages for a browser: one page per pod and container that shows the log and follows it live.

    GET  /logs                                      namespaces the user may read, their pods, links to logs
    GET  /logs/{namespace}                          the same for one namespace
    GET  /logs/{namespace}/{pod}[/{container}]      the log page (default container: the pod's
                                                    kubectl.kubernetes.io/default-container, else the first)
    GET  /logs/{namespace}/{pod}/{container}/raw    the log as text/plain (follow, previous, timestamps,
                                                    tailLines, sinceSeconds, sinceTime, limitBytes, skipBytes)
    GET  /login?token=TICKET[&next=/logs/...]       sets the session cookie (see shim.server.sessions)
    POST /login  (form: token=TICKET or bearer token, next)
    GET  /logout

Flyte's task log links (`plugins.logs` templates) fill `/logs/{{ .namespace }}/{{ .podName }}/{{
.containerName }}`. The page is plain server-rendered HTML with the log as it is now, so it works without
JavaScript; while the container runs a few lines of inline script read the raw endpoint with `follow=true` and
`skipBytes` (the bytes already shown) through fetch() and append what arrives as text nodes.

Access: a session cookie from the login link, or an `Authorization: Bearer` header as on the API. Every read
is authorized as that user with the API's RBAC: a log page needs `get pods/log` and `get pods` in its
namespace, an index lists pods where the user may `list pods`. Pod output is untrusted: everything is
HTML-escaped, and a Content-Security-Policy allows only this response's own inline script and style.
"""
from __future__ import annotations

import html
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from shim.machinery import errors
from shim.machinery.errors import StatusError
from shim.machinery.users import User
from shim.registry.options import ListOptions
from shim.registry.resource import ResourceInfo
from shim.server.auth import impersonate
from shim.server.paths import Target
from shim.registry.subresources.log import pod_log
from shim.server.resources import ApiContext
from shim.server.sessions import COOKIE, COOKIE_PATH, SESSION, TICKET, Signer

log = logging.getLogger(__name__)
Obj = dict[str, Any]

#: the most of a log the page renders inline (its tail); the raw endpoint serves all of it
PAGE_BYTES = 2 * 1024 * 1024
#: PodLogOptions the raw endpoint passes on to the pod's log
RAW_OPTIONS = ("follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes")
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
MAX_FORM = 16 * 1024

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{padding:.6em 1em;background:#f3f4f6;border-bottom:1px solid #d0d7de}
h1{font-size:1.2em;margin:.2em 0}h1 small{color:#57606a;font-weight:normal}
nav,.meta{color:#57606a}a{color:#0969da}.meta span{margin-right:1.2em}
pre{margin:0;padding:.8em 1em;font:13px/1.35 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.note{padding:0 1em;color:#57606a}.error{padding:1em}table{border-collapse:collapse;margin:.5em 1em}
td,th{padding:.15em .8em;text-align:left;border-bottom:1px solid #eee}.current{font-weight:bold}
"""

FOLLOW_SCRIPT = """
(async () => {
  const pre = document.getElementById("log"), note = document.getElementById("follow");
  const url = pre.dataset.follow;
  if (!url) return;
  note.textContent = "following the log while the container runs\u2026";
  try {
    const resp = await fetch(url, {credentials: "same-origin", cache: "no-store"});
    if (!resp.ok) { note.textContent = "following stopped: HTTP " + resp.status; return; }
    const reader = resp.body.getReader(), decoder = new TextDecoder();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      const bottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 8;
      pre.append(decoder.decode(value, {stream: true}));
      if (bottom) window.scrollTo(0, document.body.scrollHeight);
    }
    pre.append(decoder.decode());
    note.textContent = "the container has ended; reload for its final status";
  } catch (err) {
    note.textContent = "following stopped: " + err;
  }
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _path(*segments: str) -> str:
    return "/logs" + "".join("/" + quote(s, safe="") for s in segments)


# -- responses ------------------------------------------------------------------------------------------------

def _page(title: str, body: str, status: int = 200, *, script: str = "", refresh: int | None = None) -> Response:
    """A whole HTML document; its CSP admits only this response's own inline style and script (by nonce)."""
    nonce = secrets.token_urlsafe(16)
    head = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    tail = f'<script nonce="{nonce}">{script}</script>' if script else ""
    doc = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width,initial-scale=1">{head}<title>{_e(title)}</title>'
           f'<style nonce="{nonce}">{STYLE}</style></head><body>{body}{tail}</body></html>')
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return HTMLResponse(doc, status_code=status, headers={
        "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _login_form(next_path: str) -> str:
    return ('<form method="post" action="/login"><p>Or paste a login token or bearer token: '
            f'<input type="hidden" name="next" value="{_e(next_path)}">'
            '<input type="password" name="token" autocomplete="off" size="40"> <button>Sign in</button></p></form>')


def _error_page(err: StatusError, request: Request, header: str = "", refresh: int | None = None) -> Response:
    """A StatusError as a page with its HTTP status; a 401 says how to sign in (never a redirect)."""
    titles = {400: "Bad request", 401: "Sign in to see this page", 403: "Forbidden", 404: "Not found"}
    title = titles.get(err.code, "Error")
    text = f"<p>{_e(err.message)}</p>"
    headers = {}
    if err.code == 401:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.url.path == "/login":
            here = _local(request.query_params.get("next"))
        text = ("<p>Open the login link <code>kubeshim up</code> prints (<code>kubeshim login-url</code> prints it "
                "again), then reload this page.</p>" + _login_form(here))
        headers["WWW-Authenticate"] = 'Bearer realm="kubeshim"'
    if not header and err.code != 401:
        header = '<header><nav><a href="/logs">namespaces</a></nav></header>'
    response = _page(title, f'{header}<div class="error"><h1>{_e(title)}</h1>{text}</div>', err.code,
                     refresh=refresh)
    response.headers.update(headers)
    return response


def _guarded(handler: Callable[[ApiContext, Request], Awaitable[Response]], ctx: ApiContext
             ) -> Callable[[Request], Awaitable[Response]]:
    """Every failure answers a page with its status; a bug answers 500 without a traceback."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(ctx, request)
        except StatusError as err:
            return _error_page(err, request)
        except Exception as exc:
            log.exception("internal error on %s %s", request.method, request.url.path)
            return _error_page(errors.internal(type(exc).__name__), request)
    return endpoint


# -- who is asking -------------------------------------------------------------------------------------------

def _signer(ctx: ApiContext) -> Signer:
    if ctx.sessions is None:
        raise errors.unauthorized("web sign-in is not configured on this server")
    return ctx.sessions


def _user(ctx: ApiContext, request: Request) -> User:
    """The bearer token's user, else the session cookie's; neither (or a bad one) is 401."""
    if request.headers.get("authorization"):
        user = ctx.authenticator.authenticate(request)
    else:
        cookie = request.cookies.get(COOKIE)
        found = _signer(ctx).verify(SESSION, cookie) if cookie else None
        if found is None:
            raise errors.unauthorized("no valid session: sign in with the login link" if cookie else "Unauthorized")
        user = found[0]
    return impersonate(request, user, ctx.authorizer)


def _pods(ctx: ApiContext) -> ResourceInfo:
    return ctx.verbs.resource("", "v1", "pods")


def _may(ctx: ApiContext, user: User, verb: str, namespace: str) -> bool:
    try:
        ctx.authorizer.authorize(user, verb, _pods(ctx), Target("", "v1", "pods", namespace))
    except StatusError:
        return False
    return True


def _local(next_path: str | None) -> str:
    """`next` when it is a path on this server (no scheme, host or `//`), else the index. Backslashes, spaces
    and control characters are refused outright: browsers drop or rewrite them, so `/<TAB>/x` would be `//x`."""
    if not next_path or any(c == "\\" or ord(c) <= 0x20 or ord(c) == 0x7F for c in next_path):
        return "/logs"
    parts = urlsplit(next_path)
    if parts.scheme or parts.netloc or not next_path.startswith("/") or next_path.startswith("//"):
        return "/logs"
    return next_path


# -- sign-in -------------------------------------------------------------------------------------------------

def _signed_in(ctx: ApiContext, request: Request, user: User, not_after: int | None, next_path: str | None
               ) -> Response:
    value, expires = _signer(ctx).session(user, not_after)
    response = RedirectResponse(_local(next_path), status_code=303)
    response.set_cookie(COOKIE, value, max_age=max(0, expires - int(time.time())), path=COOKIE_PATH,
                        secure=request.url.scheme == "https", httponly=True, samesite="lax")
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return response


async def login(ctx: ApiContext, request: Request) -> Response:
    """GET: a login ticket in the URL (the link). POST: a ticket or a bearer token in a form body, from a page
    of this server only (a browser's Origin header says; another site must not sign a visitor in as itself)."""
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            raise StatusError(403, "Forbidden", f"a sign-in posted from {origin} is not accepted")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                raise errors.too_large(MAX_FORM)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    else:
        form = dict(request.query_params)
    token = (form.get("token") or "").strip()
    ticket = _signer(ctx).verify(TICKET, token) if token else None
    if ticket is not None:
        return _signed_in(ctx, request, ticket[0], ticket[1], form.get("next"))
    user = ctx.authenticator.user_for_token(token) if token and request.method == "POST" else None
    if user is None:
        raise errors.unauthorized("this login token is not valid (or has expired)" if token else "Unauthorized")
    return _signed_in(ctx, request, user, None, form.get("next"))


async def logout(ctx: ApiContext, request: Request) -> Response:
    response = _page("Signed out", '<div class="error"><h1>Signed out</h1></div>')
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=request.url.scheme == "https", httponly=True,
                           samesite="lax")
    return response


# -- index ---------------------------------------------------------------------------------------------------

def _container_names(pod: Obj) -> list[tuple[str, str]]:
    """(kind, name) of every container of the pod: init, app, ephemeral."""
    spec = pod.get("spec") or {}
    return [(kind, c.get("name", "")) for kind, key in (("init", "initContainers"), ("", "containers"),
                                                         ("ephemeral", "ephemeralContainers"))
            for c in spec.get(key) or []]


async def index(ctx: ApiContext, request: Request) -> Response:
    user = _user(ctx, request)
    only = request.path_params.get("namespace")
    if only is not None:
        ctx.authorizer.authorize(user, "list", _pods(ctx), Target("", "v1", "pods", only))
        namespaces = [only]
    else:
        ns_info = ctx.verbs.resource("", "v1", "namespaces")
        result = await ctx.verbs.list(ns_info, "", ListOptions())
        names = sorted(ctx.verbs.decode(ns_info, e)["metadata"]["name"] for e in result.entries)
        namespaces = [ns for ns in names if _may(ctx, user, "list", ns)]
    sections = []
    for ns in namespaces:
        result = await ctx.verbs.list(_pods(ctx), ns, ListOptions())
        pods = sorted((ctx.verbs.decode(_pods(ctx), e) for e in result.entries),
                      key=lambda p: p["metadata"]["name"])
        rows = "".join(
            f'<tr><td><a href="{_e(_path(ns, p["metadata"]["name"]))}">{_e(p["metadata"]["name"])}</a></td>'
            f'<td>{_e((p.get("status") or {}).get("phase", ""))}</td><td>'
            + " ".join(f'<a href="{_e(_path(ns, p["metadata"]["name"], c))}">{_e(c)}</a>'
                       for _, c in _container_names(p)) + "</td></tr>" for p in pods)
        table = (f"<table><tr><th>pod</th><th>phase</th><th>containers</th></tr>{rows}</table>" if pods
                 else '<p class="note">no pods</p>')
        sections.append(f'<h2 class="note"><a href="{_e(_path(ns))}">{_e(ns)}</a></h2>{table}')
    header = (f'<header><nav><a href="/logs">namespaces</a>{" / " + _e(only) if only is not None else ""}'
              f' · signed in as {_e(user.name)} · <a href="/logout">sign out</a></nav>'
              "<h1>Pod logs</h1></header>")
    body = "".join(sections) or '<p class="note">no namespace where you may list pods</p>'
    return _page("kubeshim logs", header + body)


# -- one pod's log -------------------------------------------------------------------------------------------

def _state(status: Obj | None) -> str:
    """A container status in words: waiting (reason), running since, terminated (reason, exit code)."""
    if not status:
        return "not started"
    state = status.get("state") or {}
    if "running" in state:
        text = f"running since {state['running'].get('startedAt', '')}"
    elif "terminated" in state:
        t = state["terminated"]
        text = f"terminated: {t.get('reason', '')} (exit code {t.get('exitCode', '')}) at {t.get('finishedAt', '')}"
    elif "waiting" in state:
        w = state["waiting"]
        text = f"waiting: {w.get('reason', '')}" + (f" ({w['message']})" if w.get("message") else "")
    else:
        text = "unknown"
    restarts = status.get("restartCount") or 0
    return text + (f", {restarts} restart{'s' if restarts != 1 else ''}" if restarts else "")


def _container_status(pod: Obj, container: str) -> Obj | None:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        statuses: list[Obj] = status.get(key) or []
        for s in statuses:
            if s.get("name") == container:
                return s
    return None


def _default_container(pod: Obj) -> str:
    """kubectl's choice when none is named: the default-container annotation, else the first container."""
    annotated: str | None = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER)
    names = [name for kind, name in _container_names(pod) if kind == ""]
    if annotated is not None and annotated in names:
        return annotated
    if not names:
        raise errors.bad_request(f"pod {pod['metadata']['name']} has no containers")
    return names[0]


def _pod_header(pod: Obj, container: str, previous: bool) -> str:
    meta, status = pod["metadata"], pod.get("status") or {}
    ns, name = meta.get("namespace", ""), meta["name"]
    phase = status.get("phase", "Unknown") + (" (terminating)" if meta.get("deletionTimestamp") else "")
    reason = status.get("reason") or ""
    links = []
    for kind, c in _container_names(pod):
        label = _e(c) + (f" ({kind})" if kind else "")
        css = ' class="current"' if c == container else ""
        links.append(f'<a{css} href="{_e(_path(ns, name, c))}">{label}</a>')
    cstatus = _container_status(pod, container)
    raw = _path(ns, name, container, "raw") + ("?previous=true" if previous else "")
    extra = [f'<a href="{_e(raw)}">raw</a>',
             f'<a href="{_e(raw)}" download="{_e(f"{name}-{container}.log")}">download</a>']
    if previous:
        extra.append(f'<a href="{_e(_path(ns, name, container))}">current instance</a>')
    elif (cstatus or {}).get("restartCount"):
        extra.append(f'<a href="{_e(_path(ns, name, container))}?previous=true">previous instance</a>')
    return (f'<header><nav><a href="/logs">namespaces</a> / <a href="{_e(_path(ns))}">{_e(ns)}</a> / {_e(name)}'
            f'</nav><h1>{_e(name)} <small>{_e(container)}{" (previous instance)" if previous else ""}</small></h1>'
            f'<div class="meta"><span>phase: {_e(phase)}{" — " + _e(reason) if reason else ""}</span>'
            f'<span>container: {_e(_state(cstatus))}</span></div>'
            f'<div class="meta"><span>containers: {" ".join(links)}</span><span>{" · ".join(extra)}</span></div>'
            "</header>")


def _read_pod(ctx: ApiContext, request: Request) -> tuple[Obj, str]:
    """The pod and container of the URL, after RBAC: `get pods/log` and `get pods` in its namespace."""
    user = _user(ctx, request)
    ns, name = request.path_params["namespace"], request.path_params["pod"]
    for sub in ("log", ""):
        ctx.authorizer.authorize(user, "get", _pods(ctx), Target("", "v1", "pods", ns, name, sub))
    pod = ctx.verbs.get(_pods(ctx), ns, name)
    return pod, request.path_params.get("container") or _default_container(pod)


async def _tail(stream: AsyncIterator[bytes], limit: int) -> tuple[bytes, int]:
    """(the last `limit` bytes, how many bytes the stream had)."""
    kept, total = bytearray(), 0
    async for chunk in stream:
        total += len(chunk)
        kept += chunk
        if len(kept) > 2 * limit:
            del kept[:-limit]
    return bytes(kept[-limit:]), total


async def log_page(ctx: ApiContext, request: Request) -> Response:
    pod, container = _read_pod(ctx, request)
    previous = request.query_params.get("previous") in ("true", "1")
    header = _pod_header(pod, container, previous)
    query = {"container": container, **({"previous": "true"} if previous else {})}
    try:
        stream = await pod_log(ctx.verbs.services, pod, query)
    except StatusError as err:
        # a container of the pod that has not started yet: the page reloads until it has (or the pod ended)
        state = (_container_status(pod, container) or {}).get("state") or {}
        waiting = (err.code == 400 and not previous and ctx.pod_logs is not None
                   and container in {c for _, c in _container_names(pod)}
                   and not {"running", "terminated"} & set(state)
                   and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
        return _error_page(err, request, header, refresh=2 if waiting else None)
    data, total = await _tail(stream, PAGE_BYTES)
    note = ""
    if total > len(data):
        data = data[data.find(b"\n") + 1:]
        note = (f'<p class="note">showing the last {len(data):,} of {total:,} bytes; '
                "the raw log has all of it</p>")
    running = "running" in ((_container_status(pod, container) or {}).get("state") or {})
    meta = pod["metadata"]
    follow = ""
    if running and not previous:
        follow = _path(meta["namespace"], meta["name"], container, "raw") + "?" + urlencode(
            {"follow": "true", "skipBytes": total})
    body = (f'{header}{note}<pre id="log" data-follow="{_e(follow)}">{_e(data.decode("utf-8", "replace"))}</pre>'
            '<p class="note" id="follow"></p>')
    return _page(f"{meta['name']}/{container} · kubeshim logs", body, script=FOLLOW_SCRIPT if follow else "")


async def _skip(stream: AsyncIterator[bytes], count: int) -> AsyncIterator[bytes]:
    async for chunk in stream:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0


async def raw_log(ctx: ApiContext, request: Request) -> Response:
    """The log as text/plain, with the pods/log options plus skipBytes (what the page already shows)."""
    pod, container = _read_pod(ctx, request)
    query = request.query_params
    skip = query.get("skipBytes") or "0"
    if not skip.isdigit():
        raise errors.bad_request(f"invalid value for skipBytes: {skip!r}: must be a non-negative integer")
    options = {"container": container, **{k: query[k] for k in RAW_OPTIONS if k in query}}
    stream = await pod_log(ctx.verbs.services, pod, options)
    return StreamingResponse(_skip(stream, int(skip)), media_type="text/plain; charset=utf-8", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Disposition": f"inline; filename=\"{pod['metadata']['name']}-{container}.log\""})


async def _raw_endpoint(ctx: ApiContext, request: Request) -> Response:
    """Errors of the raw endpoint are text, like the stream (a script or a download reads them)."""
    try:
        return await raw_log(ctx, request)
    except StatusError as err:
        response = Response(err.message + "\n", status_code=err.code, media_type="text/plain; charset=utf-8",
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
        if err.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kubeshim"'
        return response


def routes(ctx: ApiContext) -> list[Route]:
    """The pages' routes, to be registered before the API's catch-all."""
    def page(handler: Callable[[ApiContext, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        return _guarded(handler, ctx)
    return [
        Route("/login", page(login), methods=["GET", "POST"]),
        Route("/logout", page(logout)),
        Route("/logs", page(index)), Route("/logs/", page(index)),
        Route("/logs/{namespace}", page(index)), Route("/logs/{namespace}/", page(index)),
        Route("/logs/{namespace}/{pod}", page(log_page)),
        Route("/logs/{namespace}/{pod}/{container}", page(log_page)),
        Route("/logs/{namespace}/{pod}/{container}/raw", page(_raw_endpoint)),
    ]
