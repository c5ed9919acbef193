from django.urls import path

from dashboard import views

urlpatterns = [
    path("w/<slug:workspace_slug>/", views.dashboard, name="dashboard"),
]
