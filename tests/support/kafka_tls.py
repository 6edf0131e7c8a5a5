"""A real Kafka broker with a TLS listener that requires client certificates, and the certificates
for it, made with ``openssl`` for each test session.

The broker's certificate names ``broker.invalid``, not the 127.0.0.1 clients connect to, the way
Heroku Kafka's certificates do not name their brokers' hosts: a client connects only if it
verifies the chain and skips the name check. The client key is encrypted (PKCS#8, AES-256).

The broker runs on ports of its own, next to the session broker: plaintext ``KAFKA_PORT + 2``
(topic admin and readback), controller ``+ 3``, TLS ``+ 4``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.kafka_broker import KAFKA_SH, START_LIMIT_S, missing_prerequisite, unavailable

KEY_PASSWORD = "client-key-pw-7Qx"


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA that signed the broker and client certificates
    client_cert: Path
    client_key: Path  # encrypted with KEY_PASSWORD
    other_ca: Path  # a CA that signed nothing here

    def text(self, path: Path) -> str:
        return path.read_text()


@dataclass(frozen=True)
class TlsBroker:
    plaintext: str  # 127.0.0.1:port
    tls: str  # 127.0.0.1:port
    files: TlsFiles


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()}")


def make_certificates(directory: Path) -> TlsFiles:
    d = directory
    for name in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", "2", "-subj", f"/CN=krwfeed test {name}", cwd=d)
    (d / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                  "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:broker.invalid\n")
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                  "extendedKeyUsage=clientAuth\n")
    # broker: unencrypted PKCS#8 key + certificate + CA, one PEM file (Kafka's PEM keystore)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=broker.invalid", cwd=d)
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "broker.crt", "-days", "2", "-extfile", "server.ext", cwd=d)
    (d / "broker-keystore.pem").write_text((d / "broker.key").read_text() + (d / "broker.crt").read_text()
                                           + (d / "ca.pem").read_text())
    # client: encrypted PKCS#8 key
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
             "-pass", f"pass:{KEY_PASSWORD}", "-out", "client.key", cwd=d)
    _openssl("req", "-new", "-key", "client.key", "-passin", f"pass:{KEY_PASSWORD}", "-out", "client.csr",
             "-subj", "/CN=krwfeed-client", cwd=d)
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.crt", "-days", "2", "-extfile", "client.ext", cwd=d)
    for path in d.iterdir():
        path.chmod(0o600)
    return TlsFiles(d / "ca.pem", d / "client.crt", d / "client.key", d / "other-ca.pem")


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(KAFKA_SH), command], env=env, capture_output=True, text=True,
                          timeout=START_LIMIT_S, check=False)


@pytest.fixture(scope="session")
def kafka_tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    problem = missing_prerequisite() or (None if shutil.which("openssl") else "openssl is not installed")
    if problem:
        unavailable(f"no TLS Kafka broker: {problem}")
    base = int(os.environ.get("KAFKA_PORT", "9092")) + 2
    files = make_certificates(tmp_path_factory.mktemp("kafka-tls"))
    env = {**os.environ, "KAFKA_PORT": str(base), "KAFKA_CONTROLLER_PORT": str(base + 1),
           "KAFKA_SSL_PORT": str(base + 2), "KAFKA_SSL_KEYSTORE": str(files.ca.parent / "broker-keystore.pem"),
           "KAFKA_SSL_TRUSTSTORE": str(files.ca)}
    env.pop("KAFKA_ADVERTISED_PORT", None)
    _run("stop", env)  # a broker left on these ports by an interrupted session has other certificates
    started = _run("start", env)
    if started.returncode != 0:
        unavailable(f"no TLS Kafka broker: scripts/kafka.sh start failed:\n{started.stderr.strip()[-3000:]}")
    try:
        yield TlsBroker(f"127.0.0.1:{base}", f"127.0.0.1:{base + 2}", files)
    finally:
        _run("stop", env)
