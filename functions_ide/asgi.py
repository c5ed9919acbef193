"""ASGI entry point: the Tracking API (``/v1/...``) through its own lean application, the
rest of HTTP through Django, websockets through Channels with origin checks."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "functions_ide.settings")
# Django must be set up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from editor.routing import websocket_urlpatterns as editor_sockets  # noqa: E402
from functions_ide.daphne_requests import daphne_form_parsing_disable  # noqa: E402
from functions_ide.websocket_origin import SameOriginValidator  # noqa: E402
from pipeline.collector import collector_settle_long_lived  # noqa: E402
from pipeline.routing import websocket_urlpatterns as pipeline_sockets  # noqa: E402
from pipeline.tracking_app import PREFIX as TRACKING_PREFIX  # noqa: E402
from pipeline.tracking_app import Receive, Scope, Send, tracking_application  # noqa: E402


async def http_application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"].startswith(TRACKING_PREFIX):
        return await tracking_application(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(
                URLRouter(editor_sockets + pipeline_sockets),  # type: ignore[arg-type]  # see editor/routing.py
            )
        ),
    }
)

daphne_form_parsing_disable()
# Loaded: what the server keeps for its life, out of the collector's full collections.
collector_settle_long_lived()
