from django.urls import path

from pipeline import apis

urlpatterns = [
    path(
        "sources/<int:source_id>/recent-events/",
        apis.SourceRecentEventsApi.as_view(),
        name="api-source-recent-events",
    ),
    path(
        "instances/<int:instance_id>/batching/",
        apis.InstanceBatchingApi.as_view(),
        name="api-instance-batching",
    ),
]
