"""One invocation in flight (:class:`Call`), and the checks on what a worker answers.

Python trusts nothing a worker sends: every message is checked key by key before it
reaches a caller, and a message of the wrong shape is a protocol violation (the
worker is killed, see worker_process.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from runtime import limits

logger = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]
# A str as JSON text (ASCII, like json.dumps), by the json module's C escaper.
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


class Call:
    """One invocation in flight on a worker."""

    __slots__ = (
        "code",
        "deadline",
        "fetch_tasks",
        "function_id",
        "future",
        "handler",
        "id",
        "key",
        "logs",
        "on_event",
        "payload_json",
        "requests",
        "retried",
        "secrets",
        "settings_json",
        "timeout_ms",
        "workspace_id",
    )

    def __init__(
        self,
        *,
        id: int,
        workspace_id: str,
        function_id: str,
        version_id: str,
        code: str,
        handler: str,
        settings_json: bytes,
        payload_json: bytes,
        timeout_ms: int,
        on_event: EventCallback | None,
        secrets: tuple[str, ...],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.id = id
        self.key = f"{function_id}:{version_id}"  # names the loaded context
        self.workspace_id = workspace_id
        self.function_id = function_id
        self.code = code
        self.handler = handler
        self.settings_json = settings_json
        self.payload_json = payload_json
        self.timeout_ms = timeout_ms
        self.on_event = on_event
        self.secrets = secrets
        # Loop time by which the worker must have answered (see limits.KILL_GRACE_S).
        self.deadline = loop.time() + timeout_ms / 1000 + limits.KILL_GRACE_S
        self.future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.logs: list[dict[str, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.fetch_tasks: set[asyncio.Task[Any]] | None = None
        self.retried = False  # sent again once, on a fresh worker, after a kill

    def message(self, *, with_code: bool) -> bytes:
        """The invoke line for the worker; ``with_code`` when it may lack the context."""
        # The header, {"t":"i","i":..,"k":..,"h":..,"to":..,"s":..[,"c":..]}, built
        # without a dict and json.dumps per call (strings through the C escaper).
        parts = [
            b'{"t":"i","i":%d,"k":' % self.id,
            _json_string(self.key).encode(),
            b',"h":',
            _json_string(self.handler).encode(),
            b',"to":%d,"s":%d' % (self.timeout_ms, 0 if self.on_event is None else 1),
        ]
        if with_code:
            parts += (b',"c":', _json_string(self.code).encode())
        parts += (b"}\t", self.settings_json, b"\t", self.payload_json, b"\n")
        return b"".join(parts)

    def emit(self, event: dict[str, Any]) -> None:
        """Stream an event to the caller's callback, whose errors are its own."""
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                logger.exception("runtime: on_event callback failed")

    def restart(self) -> None:
        """Make the call new again, to be sent once more (after its worker was killed
        for another function): its time limit starts over, what it logged or fetched
        on the killed worker is forgotten, its fetches still in flight cancelled."""
        self.retried = True
        self.deadline = self.future.get_loop().time() + self.timeout_ms / 1000 + limits.KILL_GRACE_S
        self.logs.clear()
        self.requests.clear()
        if self.fetch_tasks:
            for task in list(self.fetch_tasks):
                task.cancel()

    def finish(self, result: dict[str, Any]) -> None:
        """Answer the call and cancel what it left running (its fetches)."""
        if not self.future.done():
            self.future.set_result(result)
        if self.fetch_tasks:
            for task in list(self.fetch_tasks):
                task.cancel()


def failure(outcome: str, type_: str, message: str) -> dict[str, Any]:
    """A result, in the worker's reply format, for a call Python answers itself."""
    return {"o": outcome, "e": {"type": type_, "message": message}}


def is_log(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and len(entry) == 2
        and isinstance(entry.get("level"), str)
        and isinstance(entry.get("message"), str)
    )


_RESULT_KEYS = frozenset({"t", "i", "o", "e", "r", "l"})


def _is_error(error: Any) -> bool:
    # {"type", "message"}, and where in the code it was thrown when known.
    if not isinstance(error, dict):
        return False
    if error.keys() == {"type", "message", "line", "column"}:
        if not all(type(error[k]) is int and error[k] > 0 for k in ("line", "column")):
            return False
    elif error.keys() != {"type", "message"}:
        return False
    return isinstance(error["type"], str) and isinstance(error["message"], str)


def check_result(msg: dict[str, Any]) -> dict[str, Any]:
    """A worker's reply, checked key by key (raises ValueError when malformed)."""
    if not msg.keys() <= _RESULT_KEYS or not isinstance(msg.get("o"), str):
        raise ValueError("invalid reply")
    error = msg.get("e")
    if error is not None and not _is_error(error):
        raise ValueError("invalid error")
    logs = msg.get("l")
    if logs is not None and not (isinstance(logs, list) and all(is_log(x) for x in logs)):
        raise ValueError("invalid logs")
    return msg


# json.loads pairs escaped surrogates that form a character: what is left is lone.
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value
