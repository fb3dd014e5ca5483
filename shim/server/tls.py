"""The CA and serving certificate generated on first start and kept in the data dir."""
from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported only when certificates are made (see ensure_certificates)
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def _write_key(path: Path, key: PrivateKeyTypes) -> None:
    from cryptography.hazmat.primitives import serialization
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(common: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def ensure_certificates(data_dir: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key), created when missing; valid ten years.

    The serving certificate's host names are also kept in server.hosts, so that a normal start does not load
    the cryptography package (8 MB of resident memory) just to read them back.
    """
    pki = data_dir / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key_path = pki / "ca.crt", pki / "ca.key"
    srv_crt, srv_key_path = pki / "server.crt", pki / "server.key"
    hosts_file = pki / "server.hosts"
    wanted = sorted(set(hosts) | {"127.0.0.1", "localhost", "::1"})
    if all(p.exists() for p in (ca_crt, ca_key_path, srv_crt, srv_key_path, hosts_file)) and \
            set(wanted) <= set(hosts_file.read_text().split()):
        return ca_crt, srv_crt, srv_key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=3650)
    if not ca_crt.exists() or not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(_name("kubeshim-ca")).issuer_name(_name("kubeshim-ca"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(until)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, encipher_only=False,
                                           decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        _write_key(ca_key_path, ca_key)
        ca_crt.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        srv_crt.unlink(missing_ok=True)
    issuer_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    # ours is EC; a CA key put there by hand may be any kind that signs certificates
    if not isinstance(issuer_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey,
                                   ed448.Ed448PrivateKey, dsa.DSAPrivateKey)):
        raise ValueError(f"{ca_key_path} holds a {type(issuer_key).__name__}, which cannot sign certificates")
    ca = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in wanted:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(_name("kubeshim")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    _write_key(srv_key_path, key)
    srv_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    hosts_file.write_text("\n".join(wanted) + "\n")
    return ca_crt, srv_crt, srv_key_path
