"""The Config API: /api/v1/workspaces/<slug>/... for everything inside a workspace."""

from django.urls import include, path

from workspaces.apis import WorkspaceListApi

workspace_routes = [
    path("", include("catalog.api_urls")),
    path("", include("editor.api_urls")),
    path("", include("workspaces.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("pipeline.api_urls")),
]

urlpatterns = [
    path("workspaces/", WorkspaceListApi.as_view(), name="api-workspaces"),
    path("workspaces/<slug:workspace_slug>/", include(workspace_routes)),
]
