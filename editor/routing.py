"""Websocket routes of the IDE. Consumers authorize through workspaces.permissions."""

from django.urls import path

from editor import consumers

websocket_urlpatterns = [
    path(
        "ws/w/<slug:workspace_slug>/functions/<int:function_id>/events/",
        consumers.FunctionEventsConsumer.as_asgi(),
    ),
    path("ws/w/<slug:workspace_slug>/test-runs/", consumers.TestRunConsumer.as_asgi()),
]
