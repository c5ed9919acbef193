from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from functions_ide.echo import demo_echo

urlpatterns = [
    path("", include("workspaces.urls")),
    path("", include("dashboard.urls")),
    path("w/<slug:workspace_slug>/", include("catalog.urls")),
    path("w/<slug:workspace_slug>/", include("editor.urls")),
    path("w/<slug:workspace_slug>/audit/", include("audit.urls")),
    path("w/<slug:workspace_slug>/", include("pipeline.page_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("functions_ide.api_urls")),
    # Where the demo destination of `make run` delivers (functions_ide/echo.py).
    path("demo/echo/", demo_echo, name="demo-echo"),
    # The Tracking API (/v1/track...) is not here: functions_ide/asgi.py routes it.
]
