"""The instance pages' routes, under ``/w/<slug>/``."""

from django.urls import path

from pipeline import pages

urlpatterns = [
    path("instances/new/", pages.instance_new, name="instance-new"),
    path("instances/<int:instance_id>/", pages.instance_overview, name="instance"),
    path(
        "instances/<int:instance_id>/configure/",
        pages.instance_configure,
        name="instance-configure",
    ),
]
