from django.urls import path

from editor import views

urlpatterns = [
    path("functions/new/build/", views.function_build, name="function-build"),
    path("functions/<int:function_id>/", views.function_editor, name="function-editor"),
    path("functions/<int:function_id>/delete/", views.function_delete, name="function-delete"),
]
