"""Security settings and certificate helpers of the OPC UA transport (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from drivers.opcua.security import (
    CLIENT_CERT_FILE,
    CLIENT_KEY_FILE,
    SecurityConfig,
    SecurityMode,
    der_of,
    describe,
    ensure_client_certificate,
    fingerprint,
    first_certificate,
    load_certificate,
)


@pytest.fixture(scope="module")
def client_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_client_certificate(tmp_path_factory.mktemp("pki"), "urn:test:client")


class TestSecurityConfig:
    def test_secure_by_default(self, tmp_path: Path) -> None:
        """The default mode is Basic256Sha256 Sign&Encrypt."""
        cfg = SecurityConfig.with_client_dir(tmp_path, tmp_path / "server.der", "op", "pw")
        assert cfg.secure
        assert cfg.mode is SecurityMode.SIGN_AND_ENCRYPT
        assert cfg.client_cert == tmp_path / CLIENT_CERT_FILE
        assert cfg.client_key == tmp_path / CLIENT_KEY_FILE

    def test_secure_needs_pinned_server_certificate(self, tmp_path: Path) -> None:
        """Without a pinned server certificate a secure config is refused, naming the field."""
        with pytest.raises(ValueError, match=r"server_cert required .*insecure\(\)"):
            SecurityConfig(tmp_path / "c.der", tmp_path / "k.pem", None, "op", "pw")

    def test_insecure_is_explicit(self) -> None:
        """The opt-out needs no certificates and says it is not secure."""
        cfg = SecurityConfig.insecure("op", "pw")
        assert not cfg.secure
        assert cfg.mode is SecurityMode.NONE

    def test_password_never_in_repr(self, tmp_path: Path) -> None:
        """The password does not leak into logs through repr."""
        cfg = SecurityConfig.with_client_dir(tmp_path, tmp_path / "s.der", "op", "hunter2")
        assert "hunter2" not in repr(cfg)

    def test_password_without_user_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="password given without username"):
            SecurityConfig.with_client_dir(tmp_path, tmp_path / "s.der", None, "pw")


class TestCertificates:
    def test_generated_pair(self, client_pair: tuple[Path, Path]) -> None:
        """A generated client certificate names the application URI and is a client cert."""
        cert_path, key_path = client_pair
        cert = load_certificate(cert_path)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "urn:test:client" in san.get_values_for_type(x509.UniformResourceIdentifier)
        assert key_path.stat().st_mode & 0o077 == 0

    def test_existing_pair_is_kept(self, client_pair: tuple[Path, Path]) -> None:
        """A second call keeps the pair a tool's trust list refers to."""
        cert_path, _ = client_pair
        before = cert_path.read_bytes()
        ensure_client_certificate(cert_path.parent, "urn:other")
        assert cert_path.read_bytes() == before

    def test_pem_and_der_load_alike(self, client_pair: tuple[Path, Path], tmp_path: Path) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        cert = load_certificate(client_pair[0])
        pem = tmp_path / "cert.pem"
        pem.write_bytes(cert.public_bytes(Encoding.PEM))
        assert der_of(load_certificate(pem)) == der_of(cert)

    def test_first_certificate_of_a_chain(self, client_pair: tuple[Path, Path]) -> None:
        """A server may send its certificate followed by its chain: we compare the first."""
        der = client_pair[0].read_bytes()
        assert first_certificate(der + der) == der
        assert first_certificate(der) == der

    def test_fingerprint_and_description(self, client_pair: tuple[Path, Path]) -> None:
        der = client_pair[0].read_bytes()
        fp = fingerprint(der)
        assert fp.startswith("sha256:")
        assert len(fp) == len("sha256:") + 64
        assert describe(der) == f"CN=urn:test:client {fp}"
