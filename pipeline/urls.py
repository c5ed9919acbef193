"""The Tracking API's routes, at the server's root as Segment's are (``/v1/track``...)."""

from django.urls import re_path

from pipeline import views

_EVENT_PATHS = "identify|track|page|screen|group|alias|i|t|p|s|g|a"

urlpatterns = [
    re_path(rf"^v1/(?P<kind>{_EVENT_PATHS})/?$", views.tracking_event, name="tracking-event"),
    re_path(r"^v1/(?:batch|import)/?$", views.tracking_batch, name="tracking-batch"),
]
