"""Websocket routes of the IDE. Consumers authorize through workspaces.permissions."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
