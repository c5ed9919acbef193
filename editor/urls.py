from django.urls import path

from editor import views

urlpatterns = [
    path("functions/<int:function_id>/", views.function_editor, name="function-editor"),
    path("functions/<int:function_id>/save/", views.function_save, name="function-save"),
    path(
        "functions/<int:function_id>/versions/<int:number>/restore/",
        views.function_restore,
        name="function-restore",
    ),
    path("functions/<int:function_id>/delete/", views.function_delete, name="function-delete"),
]
