"""The service-account token signer: its keys in the data dir, RS256 JWTs signed and verified with PyJWT, and
the OIDC discovery documents relying parties verify them with.

DIR/sa-signing.key is the RSA key that signs (made at first start, 0600); DIR/sa-verify.pem holds the public
keys of earlier signing keys, which still verify. `rotate` moves the signing key's public half there and makes a
new one, so tokens issued before a rotation stay valid until they expire (or until their key is removed from
sa-verify.pem); the JWKS lists every key. Like kube-apiserver's --service-account-key-file, a key is known by
its `kid`, derived from the public key (shim.machinery.satokens.key_id).
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shim.machinery.satokens import LEEWAY, jwk, key_id

log = logging.getLogger(__name__)

Obj = dict[str, Any]

SIGNING_KEY = "sa-signing.key"
VERIFY_KEYS = "sa-verify.pem"
JWKS_PATH = "/openid/v1/jwks"
CONFIG_PATH = "/.well-known/openid-configuration"
#: how long relying parties may cache the documents (upstream's static key getter: an hour)
MAX_AGE = 3600
#: verified tokens remembered, so that a client's every request does not pay an RSA verification again
VERIFIED_KEPT = 4096


class InvalidToken(Exception):
    """A token this signer cannot vouch for (its text is what a log may say; clients only get 401)."""


class NotServiceAccountToken(InvalidToken):
    """Not a JWT of an issuer this signer knows: some other kind of token, nothing to say about it."""


def _new_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _publish(path: Path, content: bytes) -> None:
    """Write `content` to a fresh 0600 file beside `path` and rename it over `path`: a reader sees the old
    file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


def _signing_key(path: Path) -> rsa.RSAPrivateKey:
    """The signing key, made when missing. A file that holds no RSA key (the HMAC secret of kubeshim before
    JWTs) is replaced: the opaque tokens it signed are no longer accepted anyway."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, rsa.RSAPrivateKey):
                return key
        except ValueError:
            pass
        log.warning("%s holds no RSA private key; a new service-account signing key replaces it", path)
    _publish(path, _new_key_pem())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _pem_blocks(text: bytes) -> list[bytes]:
    blocks, current = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith(b"-----BEGIN"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(b"-----END"):
                blocks.append(b"".join(current))
                current = []
    return blocks


def _verify_keys(path: Path) -> list[rsa.RSAPublicKey]:
    """The public keys in `path` (PEM public or private keys, any number); a block that is not an RSA key is
    skipped with a warning rather than stopping the server."""
    if not path.exists():
        return []
    keys = []
    for block in _pem_blocks(path.read_bytes()):
        try:
            key: Any = (serialization.load_pem_public_key(block) if b"PUBLIC KEY" in block.split(b"\n", 1)[0]
                        else serialization.load_pem_private_key(block, password=None).public_key())
        except ValueError as err:
            log.warning("%s: a key that cannot be read is ignored (%s)", path, err)
            continue
        if isinstance(key, rsa.RSAPublicKey):
            keys.append(key)
        else:
            log.warning("%s: a key that is not RSA is ignored", path)
    return keys


def rotate(data_dir: Path) -> str:
    """Make a new signing key; the current one's public key joins the verifying keys. Returns the new kid.
    A running kubeshim signs with the new key from its next start."""
    signing = _signing_key(data_dir / SIGNING_KEY)
    public = signing.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    verify = data_dir / VERIFY_KEYS
    _publish(verify, (verify.read_bytes() if verify.exists() else b"") + public)
    _publish(data_dir / SIGNING_KEY, _new_key_pem())
    return key_id(_signing_key(data_dir / SIGNING_KEY).public_key())


@dataclass
class TokenAuthority:
    """Signs service-account tokens as `issuers[0]`, verifies those of any of `issuers` (and the legacy issuer
    of token Secrets), and publishes the keys. `audiences` are the API server's own (upstream's
    --api-audiences, by default the issuers)."""

    signing: rsa.RSAPrivateKey
    verifying: dict[str, rsa.RSAPublicKey]
    issuers: tuple[str, ...]
    audiences: tuple[str, ...]
    #: where the JWKS is served: the server's own address (upstream's external address) + /openid/v1/jwks
    jwks_uri: str
    #: token -> its claims, once verified (only `exp` can be passed since)
    verified: dict[str, Obj] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, data_dir: Path, issuers: list[str], server_url: str,
             audiences: list[str] | None = None) -> TokenAuthority:
        data_dir.mkdir(parents=True, exist_ok=True)
        signing = _signing_key(data_dir / SIGNING_KEY)
        keys = [signing.public_key(), *_verify_keys(data_dir / VERIFY_KEYS)]
        return cls(signing, {key_id(k): k for k in keys}, tuple(issuers), tuple(audiences or issuers),
                   server_url.rstrip("/") + JWKS_PATH)

    @property
    def issuer(self) -> str:
        return self.issuers[0]

    def sign(self, claims: Obj) -> str:
        """The compact JWS of `claims`, with the signing key's kid (and, as upstream, no `typ`)."""
        return jwt.encode(claims, self.signing, algorithm="RS256",
                          headers={"kid": key_id(self.signing.public_key()), "typ": None})

    def verify(self, token: str, issuers: tuple[str, ...]) -> Obj:
        """The claims of `token` once its signature (by one of the keys, the one its kid names when it names
        one) and its times (exp, nbf, iat, with upstream's minute of leeway) hold. NotServiceAccountToken when it
        is no JWT of one of `issuers`, InvalidToken saying why for one that fails. Audiences and the objects it
        names are the caller's to check."""
        claims = self.verified.get(token)
        if claims is not None and claims.get("iss") in issuers:
            if isinstance(claims.get("exp"), int) and time.time() > claims["exp"] + LEEWAY:
                raise InvalidToken("service account token has expired")
            return claims
        claims = self._verify(token, issuers)
        if len(self.verified) >= VERIFIED_KEPT:
            del self.verified[next(iter(self.verified))]
        self.verified[token] = claims
        return claims

    def _verify(self, token: str, issuers: tuple[str, ...]) -> Obj:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise NotServiceAccountToken() from None
        if issuer not in issuers:
            raise NotServiceAccountToken()
        keys = [self.verifying[kid]] if kid in self.verifying else [] if kid else list(self.verifying.values())
        if not keys:
            raise InvalidToken("invalid signature, no keys found")
        problem = "invalid signature"
        for key in keys:
            try:
                claims: Obj = jwt.decode(token, key, algorithms=["RS256"], leeway=LEEWAY,
                                         options={"verify_aud": False, "verify_iss": False})
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise InvalidToken("service account token has expired") from None
            except jwt.ImmatureSignatureError:
                raise InvalidToken("service account token is not valid yet") from None
            except jwt.PyJWTError as err:
                problem = str(err)
                continue
            return claims
        raise InvalidToken(problem)

    def openid_configuration(self) -> bytes:
        """/.well-known/openid-configuration: where the keys are and what they sign with."""
        algs = sorted({entry["alg"] for entry in self._jwks()})
        return orjson.dumps({"issuer": self.issuer, "jwks_uri": self.jwks_uri,
                             "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                             "id_token_signing_alg_values_supported": algs})

    def jwks(self) -> bytes:
        """/openid/v1/jwks: every key that verifies, the signing key first."""
        return orjson.dumps({"keys": self._jwks()})

    def _jwks(self) -> list[Obj]:
        return [jwk(key) for key in self.verifying.values()]

