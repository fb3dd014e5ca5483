"""A small HTTPS admission webhook for tests: a CA of its own, a serving certificate for 127.0.0.1, localhost and
the service names asked for, and behaviours chosen by path. Every AdmissionReview it receives is kept, in order.

Paths (URL-quoted arguments as further segments, since a webhook URL may carry no query):
- `/allow[/warning]`: allowed, with the warning given;
- `/label[/key/value]`: allowed, with a JSONPatch adding the label (`added: yes` by default);
- `/deny[/message[/code]]`: refused with that Status (code 403 by default);
- `/slow[/seconds]`: allowed after waiting (a webhook slower than its timeout);
- `/html`: 200 with an HTML body (no AdmissionReview);
- `/absent`: an AdmissionReview with no response;
- `/wrong-uid`: a response about another request.
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Obj = dict[str, Any]


def _certificates(names: tuple[str, ...]) -> tuple[bytes, bytes, bytes]:
    """(CA certificate, serving certificate, serving key), PEM."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    sans += [x509.DNSName(name) for name in names]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), cert.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class WebhookServer:
    """Serves on 127.0.0.1 at a free port until stopped; `reviews` holds what it was sent."""

    def __init__(self, *names: str) -> None:
        ca, cert, key = _certificates(names)
        self.ca_bundle = base64.b64encode(ca).decode()
        self.reviews: list[Obj] = []
        self._stopping = threading.Event()
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "cert.pem").write_bytes(cert)
            Path(tmp, "key.pem").write_bytes(key)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(Path(tmp, "cert.pem"), Path(tmp, "key.pem"))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.reviews.append(review)
                behaviour, *args = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
                status, body = server.answer(behaviour, args, review)
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body.startswith(b"{") else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def answer(self, behaviour: str, args: list[str], review: Obj) -> tuple[int, bytes]:
        uid = review["request"]["uid"]
        response: Obj = {"uid": uid, "allowed": True}
        if behaviour == "allow" and args:
            response["warnings"] = [args[0]]
        elif behaviour == "label":
            key, value = (args + ["added", "yes"][len(args):])[:2]
            labels = ((review["request"].get("object") or {}).get("metadata") or {}).get("labels")
            escaped = key.replace("~", "~0").replace("/", "~1")
            patch = ([{"op": "add", "path": f"/metadata/labels/{escaped}", "value": value}] if labels else
                     [{"op": "add", "path": "/metadata/labels", "value": {key: value}}])
            response.update(patchType="JSONPatch", patch=base64.b64encode(json.dumps(patch).encode()).decode())
        elif behaviour == "deny":
            response.update(allowed=False, status={"message": args[0] if args else "",
                                                   "code": int(args[1]) if len(args) > 1 else 403})
        elif behaviour == "slow":
            self._stopping.wait(float(args[0]) if args else 5.0)
        elif behaviour == "html":
            return 200, b"<html>not a review</html>"
        elif behaviour == "absent":
            return 200, json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode()
        elif behaviour == "wrong-uid":
            response["uid"] = "not-" + uid
        return 200, json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                "response": response}).encode()

    def stop(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> WebhookServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
