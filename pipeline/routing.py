"""Websocket routes of the pipeline's live pages. Consumers authorize through
workspaces.permissions (see pipeline/consumers.py)."""

from django.urls import path

from pipeline import consumers

# As in editor/routing.py: path() is typed for views, these are ASGI applications.
websocket_urlpatterns = [
    path(
        "ws/w/<slug:workspace_slug>/sources/<int:source_id>/debugger/",
        consumers.SourceDebuggerConsumer.as_asgi(),  # type: ignore[arg-type]  # ASGI app, not a view
    ),
    path(
        "ws/w/<slug:workspace_slug>/instances/<int:instance_id>/logs/",
        consumers.InstanceLogsConsumer.as_asgi(),  # type: ignore[arg-type]  # ASGI app, not a view
    ),
]
