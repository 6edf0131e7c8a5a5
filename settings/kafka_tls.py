"""TLS material for the Kafka client: PEM text from the environment written to private files, and
every TLS setting checked at load, so a wrong certificate, key or password is exit 2 with one line
instead of a producer that retries a failing handshake forever."""
from __future__ import annotations

import atexit
import os
import re
import shutil
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from settings.errors import MISSING, SettingsError, SettingsProblem
from settings.secrets import SECRET_ENV

_FILE_NAMES = {"ssl_cafile": "trusted-ca.pem", "ssl_certfile": "client-cert.pem", "ssl_keyfile": "client-key.pem"}


def write_pem_files(pem: Mapping[str, tuple[str, str]], directory: str | Path | None) -> dict[str, str]:
    """``{ssl_*file key: (variable, PEM text)}`` -> ``{key: path}``. Files are created 0600 (the key
    is a secret) in ``directory``, or in a new 0700 temporary directory removed at exit. The files
    stay for the life of the process: the client reads them again on every connection."""
    if directory is None:
        directory = tempfile.mkdtemp(prefix="krwfeed-kafka-tls-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for key, (_var, text) in pem.items():
        path = Path(directory) / _FILE_NAMES[key]
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            # Config vars often lose the final newline; OpenSSL wants one after the END line.
            out.write(text.strip() + "\n")
        paths[key] = str(path)
    return paths


def check_tls(source: str, kafka: Mapping[str, Any], pem_origins: Mapping[str, str]) -> None:
    """Raises ``SettingsError`` naming the variable that holds a bad value (never the value itself)."""

    def origin(key: str) -> str:
        return pem_origins.get(key) or SECRET_ENV[key]

    proto = kafka.get("security_protocol", "PLAINTEXT")
    files = [key for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile") if kafka.get(key)]
    if files and not proto.endswith("SSL"):
        raise SettingsError.single(source, "kafka.security_protocol", proto,
                                   f"SSL or SASL_SSL, since TLS files are set ({', '.join(map(origin, files))})")
    if kafka.get("ssl_check_hostname") is False and not kafka.get("ssl_cafile"):
        raise SettingsError.single(
            source, "KRWFEED_KAFKA_SSL_CHECK_HOSTNAME", False,
            "true unless a CA certificate is pinned (KAFKA_TRUSTED_CERT or KRWFEED_KAFKA_SSL_CAFILE), so "
            "the broker's chain is still verified")
    if kafka.get("ssl_keyfile") and not kafka.get("ssl_certfile"):
        raise SettingsError.single(source, origin("ssl_certfile"), MISSING,
                                   f"the client certificate for the key in {origin('ssl_keyfile')}")
    if not proto.endswith("SSL"):
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if kafka.get("ssl_cafile"):
        try:
            context.load_verify_locations(cafile=kafka["ssl_cafile"])
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise _hidden(source, origin("ssl_cafile"), f"PEM CA certificates ({_reason(exc)})") from None
    if kafka.get("ssl_certfile"):
        password = kafka.get("ssl_password")
        key_text = Path(kafka.get("ssl_keyfile") or kafka["ssl_certfile"]).read_text(errors="replace")
        if password is None and "ENCRYPTED" in key_text:
            raise SettingsError.single(source, SECRET_ENV["ssl_password"], MISSING,
                                       f"the password of the encrypted key in {origin('ssl_keyfile')}")
        secret = password.value if password is not None else ""
        try:
            # A callable, never None: OpenSSL would otherwise prompt on the terminal for a password.
            context.load_cert_chain(kafka["ssl_certfile"], kafka.get("ssl_keyfile"), password=lambda: secret)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise _hidden(
                source, f"{origin('ssl_certfile')} / {origin('ssl_keyfile')}",
                f"a PEM certificate and its private key, decrypted by {SECRET_ENV['ssl_password']} if encrypted "
                f"(a wrong password or a key of another certificate: {_reason(exc)})") from None


def _hidden(source: str, key: str, allowed: str) -> SettingsError:
    return SettingsError(source, [SettingsProblem(key, "<not shown>", allowed)])


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "strerror", None) or exc) if not isinstance(exc, ssl.SSLError) else str(exc)
    return re.sub(r"\s*\(_ssl\.c:\d+\)", "", text)
