"""The instance pages' and source pipeline pages' routes, under ``/w/<slug>/``."""

from django.urls import path

from pipeline import pages

urlpatterns = [
    path("instances/<int:instance_id>/", pages.instance_overview, name="instance"),
    path(
        "sources/<int:source_id>/delete-user/",
        pages.source_delete_user,
        name="source-delete-user",
    ),
]
