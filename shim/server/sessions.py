"""Browser sign-in for kubeshim's web pages: login tickets, signed session cookies and the login link.

A browser has no bearer token, so `kubeshim up` prints a login link, Jupyter-style:
`https://HOST:PORT/login?token=TICKET`. Opening it sets a session cookie; from then on the browser is that user
on the log pages, and every page is authorized as that user with RBAC.

Why the link carries a dedicated login ticket rather than a bearer token: the link ends up in terminal
scrollback, shell history, browser history and other tools' output. A ticket only opens a session on the web
pages (the session cookie is accepted by no API route, so it can write nothing and cross-site requests cannot
ride it into the API) and it expires; the admin's bearer token is a full API credential that never expires.
Someone who holds only a bearer token (a tenant's kubeconfig, a service-account token) signs in by POSTing it
to /login, the form of the 401 page, which keeps the token out of URLs.

Tickets and cookies are HMAC-SHA256-signed with DIR/session.key (0600, separate from the service-account key;
delete it and restart to revoke every link and session). Each names the user (name and groups) and an expiry;
a purpose word inside the signed text tells them apart, so a cookie is never accepted as a ticket or the
reverse.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import orjson

from shim.machinery.users import User
from shim.server.auth import Authenticator

COOKIE = "kubeshim_session"
#: the cookie is sent to the web pages only, never to the API
COOKIE_PATH = "/logs"
TICKET = "login"
SESSION = "session"
TICKET_SECONDS = 30 * 24 * 3600
SESSION_SECONDS = 12 * 3600
KEY_FILE = "session.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_key(path: Path) -> bytes:
    """The key, created on first use; published with link() so a concurrent reader never sees half a key."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


@dataclass(frozen=True)
class Signer:
    """Issues and checks login tickets and session cookies."""

    key: bytes

    @classmethod
    def load(cls, data_dir: Path) -> Signer:
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(_load_key(data_dir / KEY_FILE))

    def sign(self, purpose: str, user: User, expires: int) -> str:
        payload = _b64(orjson.dumps({"u": user.name, "g": list(user.groups), "exp": expires}))
        text = f"{purpose}.{payload}"
        return f"{text}.{hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()}"

    def verify(self, purpose: str, value: str) -> tuple[User, int] | None:
        """(user, expiry) of a value this key signed for `purpose` and that has not expired, else None."""
        parts = value.split(".")
        if len(parts) != 3 or parts[0] != purpose:
            return None
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = orjson.loads(_unb64(parts[1]))
            expires = int(claims["exp"])
            user = User(str(claims["u"]), tuple(str(g) for g in claims["g"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        return (user, expires) if expires > time.time() else None

    def ticket(self, user: User, seconds: int = TICKET_SECONDS) -> str:
        return self.sign(TICKET, user, int(time.time()) + seconds)

    def session(self, user: User, not_after: int | None = None) -> tuple[str, int]:
        """(cookie value, expiry): SESSION_SECONDS from now, never beyond the ticket it came from."""
        expires = int(time.time()) + SESSION_SECONDS
        if not_after is not None:
            expires = min(expires, not_after)
        return self.sign(SESSION, user, expires), expires


def login_url(data_dir: Path, server_url: str, user: str | None = None, seconds: int = TICKET_SECONDS) -> str:
    """The link that signs a browser in to the log pages of the kubeshim whose state is in `data_dir`: as the
    admin (the system:masters user of tokens.json), or as the tokens.json user called `user`."""
    auth = Authenticator.load(data_dir)
    who = auth.user_named(user) if user else auth.tokens[auth.admin_token()]
    ticket = Signer.load(data_dir).ticket(who, seconds)
    return f"{server_url.rstrip('/')}/login?{urlencode({'token': ticket})}"
