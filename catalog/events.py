"""Live notifications about a function, sent to open editors after the change commits."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def function_group_name(function_id: int) -> str:
    return f"function.{function_id}"


def function_changed_notify(*, function_id: int, change: str, **details: Any) -> None:
    """Tell open editors of the function what changed, once the transaction has committed
    (a rolled-back change must never be announced)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "function.changed", "change": change, **details}
        async_to_sync(layer.group_send)(function_group_name(function_id), message)

    transaction.on_commit(send)
