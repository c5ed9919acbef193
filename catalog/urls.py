from django.urls import path

from catalog import views

urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("functions/new/", views.function_new, name="function-new"),
    path("sources/new/", views.source_create, name="source-create"),
    path("sources/<int:source_id>/delete/", views.source_delete, name="source-delete"),
    path(
        "sources/<int:source_id>/rotate-write-key/",
        views.source_rotate_write_key,
        name="source-rotate-write-key",
    ),
]
