"""The pipeline's pages' routes, under ``/w/<slug>/``: instances, usage."""

from django.urls import path

from pipeline import pages

urlpatterns = [
    path("instances/<int:instance_id>/", pages.instance_overview, name="instance"),
    path("usage/", pages.usage, name="usage"),
]
