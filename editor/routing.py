"""Websocket routes of the IDE. Consumers authorize through workspaces.permissions."""

from django.urls import path

from editor import consumers

# django-stubs' path() takes views only, not the ASGI applications Channels routes: hence
# the ignores here and on URLRouter in functions_ide/asgi.py.
websocket_urlpatterns = [
    path(
        "ws/w/<slug:workspace_slug>/functions/<int:function_id>/events/",
        consumers.FunctionEventsConsumer.as_asgi(),  # type: ignore[arg-type]  # ASGI app, not a view
    ),
    path(
        "ws/w/<slug:workspace_slug>/test-runs/",
        consumers.TestRunConsumer.as_asgi(),  # type: ignore[arg-type]  # ASGI app, not a view
    ),
]
