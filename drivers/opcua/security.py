"""OPC UA security settings, certificate pinning helpers and client-certificate generation.

Secure by default: Basic256Sha256 with Sign&Encrypt, a client application
certificate, a user name and password, and the server's certificate pinned
from a file. `SecurityConfig.insecure()` is the explicit, visible opt-out.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

DEFAULT_APP_URI = "urn:pkgline:client"
CLIENT_CERT_FILE = "client_cert.der"
CLIENT_KEY_FILE = "client_key.pem"


class SecurityMode(enum.Enum):
    """OPC UA message security mode (names as in the specification)."""

    NONE = "None"
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


class SecurityPolicy(enum.Enum):
    """Security policies we speak (URI suffixes as in the specification)."""

    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128_Sha256_RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256_Sha256_RsaPss"

    @property
    def uri(self) -> str:
        return f"http://opcfoundation.org/UA/SecurityPolicy#{self.value}"


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """How to secure one OPC UA connection.

    `server_cert` is the tool's application certificate, pinned: the client
    refuses a server that presents any other. `client_cert`/`client_key` are
    generated on first use when missing (see `ensure_client_certificate`).
    The password never appears in `repr`.
    """

    client_cert: Path | None
    client_key: Path | None
    server_cert: Path | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mode: SecurityMode = SecurityMode.SIGN_AND_ENCRYPT
    policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256
    app_uri: str = DEFAULT_APP_URI

    def __post_init__(self) -> None:
        if self.mode is SecurityMode.NONE:
            return
        missing = [
            name
            for name in ("client_cert", "client_key", "server_cert")
            if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(
                f"SecurityConfig: {', '.join(missing)} required with mode {self.mode.value} "
                "(use SecurityConfig.insecure() to opt out explicitly)"
            )
        if self.password is not None and self.username is None:
            raise ValueError("SecurityConfig: password given without username")

    @property
    def secure(self) -> bool:
        return self.mode is not SecurityMode.NONE

    @classmethod
    def insecure(cls, username: str | None = None, password: str | None = None) -> SecurityConfig:
        """No signing, no encryption, no server authentication: an explicit opt-out."""
        return cls(None, None, None, username, password, mode=SecurityMode.NONE)

    @classmethod
    def with_client_dir(
        cls,
        client_dir: Path,
        server_cert: Path,
        username: str | None,
        password: str | None,
        *,
        mode: SecurityMode = SecurityMode.SIGN_AND_ENCRYPT,
        policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256,
        app_uri: str = DEFAULT_APP_URI,
    ) -> SecurityConfig:
        """Client certificate and key in `client_dir` (created on first connect if missing)."""
        return cls(
            client_dir / CLIENT_CERT_FILE,
            client_dir / CLIENT_KEY_FILE,
            server_cert,
            username,
            password,
            mode=mode,
            policy=policy,
            app_uri=app_uri,
        )


def ensure_client_certificate(
    directory: Path, app_uri: str = DEFAULT_APP_URI, *, host_name: str | None = None
) -> tuple[Path, Path]:
    """Return (certificate, key) in `directory`, generating a self-signed pair if missing.

    An existing pair is kept as it is (a server's trust list refers to it); only a
    missing file triggers generation. Blocking (RSA key generation takes ~0.1 s):
    call it at start-up or in a thread.
    """
    cert = directory / CLIENT_CERT_FILE
    key = directory / CLIENT_KEY_FILE
    ensure_certificate_files(cert, key, app_uri, host_name=host_name)
    return cert, key


def ensure_certificate_files(
    cert_path: Path,
    key_path: Path,
    app_uri: str,
    *,
    host_name: str | None = None,
    server: bool = False,
    days: int = 730,
) -> bool:
    """Write a self-signed OPC UA application certificate (DER) and key (PEM) if missing.

    Returns True when it generated something. A key that exists is reused, so a
    lost certificate is re-issued for the same key.
    """
    # Imported here: asyncua is heavy and only needed when a pair must be made.
    from asyncua.crypto import cert_gen

    if cert_path.is_file() and key_path.is_file():
        existing = load_certificate(cert_path)
        if existing.not_valid_after_utc < datetime.now(UTC):
            log.warning("certificate %s expired on %s", cert_path, existing.not_valid_after_utc)
        return False
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    if key_path.is_file():
        loaded = load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path}: not an RSA private key")
        key = loaded
    else:
        key = cert_gen.generate_private_key()
        key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
        key_path.chmod(0o600)
    host = host_name or socket.gethostname()
    use = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    certificate = cert_gen.generate_self_signed_app_certificate(
        key,
        app_uri,
        {},
        [x509.UniformResourceIdentifier(app_uri), x509.DNSName(host)],
        extended=[use],
        days=days,
    )
    cert_path.write_bytes(certificate.public_bytes(Encoding.DER))
    log.info("generated certificate %s for %s", cert_path, app_uri)
    return True


def load_certificate(path: Path) -> x509.Certificate:
    """Load a certificate from a DER or PEM file."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def der_of(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def first_certificate(der: bytes) -> bytes:
    """The leading certificate of a DER blob that may hold a whole chain.

    Servers may send their certificate followed by its issuers; the outer
    SEQUENCE's long-form length (bytes 2..3) tells where the first one ends.
    """
    if len(der) < 4 or der[0] != 0x30 or der[1] != 0x82:
        return der
    return der[: int.from_bytes(der[2:4], "big") + 4]


def fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate, as operators compare them."""
    return "sha256:" + hashlib.sha256(der).hexdigest()


def describe(der: bytes) -> str:
    """Subject common name and fingerprint, for error messages."""
    try:
        cert = x509.load_der_x509_certificate(der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = str(names[0].value) if names else "?"
    except ValueError:
        cn = "unparseable"
    return f"CN={cn} {fingerprint(der)}"
