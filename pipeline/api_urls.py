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
    path(
        "instances/<int:instance_id>/delivery/",
        apis.InstanceDeliveryApi.as_view(),
        name="api-instance-delivery",
    ),
    path(
        "instances/<int:instance_id>/delivery/failures/",
        apis.InstanceDeliveryFailuresApi.as_view(),
        name="api-instance-delivery-failures",
    ),
    path(
        "instances/<int:instance_id>/replay/",
        apis.InstanceReplayApi.as_view(),
        name="api-instance-replay",
    ),
    path(
        "instances/<int:instance_id>/filters/",
        apis.InstanceFiltersApi.as_view(),
        name="api-instance-filters",
    ),
    path(
        "instances/<int:instance_id>/filters/preview/",
        apis.InstanceFiltersPreviewApi.as_view(),
        name="api-instance-filters-preview",
    ),
    path(
        "instances/<int:instance_id>/batching/",
        apis.InstanceBatchingApi.as_view(),
        name="api-instance-batching",
    ),
]
