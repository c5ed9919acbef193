"""The instance pages' routes, under ``/w/<slug>/``."""

from django.urls import path

from pipeline import pages

urlpatterns = [
    path("instances/<int:instance_id>/", pages.instance_overview, name="instance"),
    path(
        "instances/<int:instance_id>/filters/",
        pages.instance_filters,
        name="instance-filters",
    ),
]
