"""A loopback HTTP server standing in for a vendor's API (Stripe, SendGrid...).

It records every request that arrives (method, path with query, headers, body) and
answers with what the test registered for the method and path, so that tests assert
on what the SDK running inside the function really sent.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from runtime.management.loopback_serve import LoopbackHTTPServer


@dataclass
class Arrived:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class Vendor:
    url: str = ""
    ca_file: str = ""
    arrived: list[Arrived] = field(default_factory=list)
    replies: dict[tuple[str, str], Reply] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``method path`` (the path without its query) with ``body`` (JSON
        unless it is bytes)."""
        hdrs = dict(headers or {})
        if isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body if body is not None else {}).encode()
            hdrs.setdefault("Content-Type", "application/json")
        self.replies[(method, path)] = Reply(status, raw, hdrs)

    def only(self) -> Arrived:
        """The one request that arrived (fails the test when there were more or none)."""
        assert len(self.arrived) == 1, [(a.method, a.path) for a in self.arrived]
        return self.arrived[0]


def _handler(vendor: Vendor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Arrived(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with vendor.lock:
                vendor.arrived.append(seen)
            reply = vendor.replies.get((self.command, seen.route)) or Reply(
                404, b'{"error":"no such route"}', {"Content-Type": "application/json"}
            )
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def self_signed_certificate(directory: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by itself, and its key: (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@contextlib.contextmanager
def vendor_server(*, tls: bool = False) -> Iterator[Vendor]:
    """The stand-in, on plain HTTP, or with ``tls`` on HTTPS with a self-signed
    certificate whose path is ``vendor.ca_file`` (trust it with SSL_CERT_FILE)."""
    vendor = Vendor()
    httpd = LoopbackHTTPServer(("127.0.0.1", 0), _handler(vendor))
    with tempfile.TemporaryDirectory() as directory:
        if tls:
            cert_path, key_path = self_signed_certificate(directory)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_path, key_path)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
            vendor.ca_file = cert_path
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        scheme = "https" if tls else "http"
        vendor.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
        try:
            yield vendor
        finally:
            httpd.shutdown()
            httpd.server_close()
