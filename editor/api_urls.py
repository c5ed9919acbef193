from django.urls import path

from editor import apis

urlpatterns = [
    path(
        "functions/<int:function_id>/test-settings/",
        apis.FunctionTestSettingsApi.as_view(),
        name="api-function-test-settings",
    ),
    path(
        "functions/<int:function_id>/test-cases/",
        apis.FunctionTestCaseListApi.as_view(),
        name="api-function-test-cases",
    ),
    path(
        "functions/<int:function_id>/test-cases/<int:case_id>/",
        apis.FunctionTestCaseDetailApi.as_view(),
        name="api-function-test-case",
    ),
]
