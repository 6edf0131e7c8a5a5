"""TLS for the simulator's ports: the venues are only reachable over wss:// and https://, and TLS
adds a buffer between the socket and the WebSocket reader that plain ws:// lacks."""
from __future__ import annotations

import ssl


def server_tls_context(cert_file: str | None, key_file: str | None) -> ssl.SSLContext | None:
    """A server context for the PEM certificate and key, or None (plain ws:// and http://)."""
    if not cert_file and not key_file:
        return None
    if not cert_file or not key_file:
        raise ValueError("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
