"""Requests through the server's whole ASGI application (``functions_ide.asgi``), as Daphne
hands them over, for what Django's test client cannot reach: the Tracking API, which is
an ASGI application of its own. Spelled like Django's client (``HTTP_ORIGIN=...``), so a
test reads the same either way.

Under ``async_to_sync`` the application's thread-sensitive database work runs on the
calling thread, in the test's transaction: the plain ``db`` fixture is enough.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync


@dataclass
class AsgiAnswer:
    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers


def _header_name(meta_key: str) -> str:
    """``HTTP_ACCESS_CONTROL_REQUEST_METHOD`` -> ``access-control-request-method``."""
    return meta_key.removeprefix("HTTP_").replace("_", "-").lower()


class AsgiClient:
    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host

    def request(
        self, method: str, path: str, *, body: bytes = b"", content_type: str = "", **extra: str
    ) -> AsgiAnswer:
        headers = [(b"host", self.host.encode())]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        if content_type:
            headers.append((b"content-type", content_type.encode()))
        headers += [(_header_name(k).encode(), v.encode("latin-1")) for k, v in extra.items()]
        return async_to_sync(_call)(method, path, headers, body)

    def post(
        self, path: str, data: bytes = b"", content_type: str = "application/json", **extra: str
    ) -> AsgiAnswer:
        return self.request("POST", path, body=data, content_type=content_type, **extra)

    def post_together(self, path: str, bodies: list[bytes], **extra: str) -> list[AsgiAnswer]:
        """POST each of ``bodies`` at once, as concurrent senders do (one event loop)."""
        requests = [(_header_name(k).encode(), v.encode("latin-1")) for k, v in extra.items()]

        async def together() -> list[AsgiAnswer]:
            return await asyncio.gather(
                *(_call("POST", path, [*self._base(body), *requests], body) for body in bodies)
            )

        return async_to_sync(together)()

    def _base(self, body: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"host", self.host.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]

    def get(self, path: str, **extra: str) -> AsgiAnswer:
        return self.request("GET", path, **extra)

    def options(self, path: str, **extra: str) -> AsgiAnswer:
        return self.request("OPTIONS", path, **extra)


async def _call(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> AsgiAnswer:
    from functions_ide.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.partition("?")[0],
        "raw_path": path.partition("?")[0].encode(),
        "query_string": path.partition("?")[2].encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer = AsgiAnswer(status_code=0, content=b"")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status_code = message["status"]
            for name, value in message.get("headers", []):
                answer.headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            answer.content += message.get("body", b"")

    await application(scope, receive, send)
    return answer
