"""The pipeline's pages' routes, under ``/w/<slug>/``: instances, sources' pipeline
actions, usage."""

from django.urls import path

from pipeline import pages

urlpatterns = [
    path("instances/new/", pages.instance_new, name="instance-new"),
    path(
        "instances/<int:instance_id>/batching/",
        pages.instance_batching,
        name="instance-batching",
    ),
    path("instances/<int:instance_id>/", pages.instance_overview, name="instance"),
    path(
        "instances/<int:instance_id>/delivery/",
        pages.instance_delivery,
        name="instance-delivery",
    ),
    path(
        "instances/<int:instance_id>/configure/",
        pages.instance_configure,
        name="instance-configure",
    ),
    path("usage/", pages.usage, name="usage"),
    path("instances/<int:instance_id>/logs/", pages.instance_logs, name="instance-logs"),
    path("sources/<int:source_id>/debugger/", pages.source_debugger, name="source-debugger"),
    path(
        "sources/<int:source_id>/delete-user/",
        pages.source_delete_user,
        name="source-delete-user",
    ),
    path(
        "instances/<int:instance_id>/filters/",
        pages.instance_filters,
        name="instance-filters",
    ),
]
