from django.urls import path

from pipeline import apis

urlpatterns = [
    path(
        "sources/<int:source_id>/recent-events/",
        apis.SourceRecentEventsApi.as_view(),
        name="api-source-recent-events",
    ),
    path("usage/", apis.UsageApi.as_view(), name="api-usage"),
    path(
        "sources/<int:source_id>/delete-user/",
        apis.SourceUserDeleteApi.as_view(),
        name="api-source-delete-user",
    ),
]
