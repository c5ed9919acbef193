from django.urls import path

from catalog import apis

urlpatterns = [
    path("functions/", apis.FunctionListApi.as_view(), name="api-functions"),
    path("functions/<int:function_id>/", apis.FunctionDetailApi.as_view(), name="api-function"),
    path(
        "functions/preview/", apis.FunctionPreviewNewApi.as_view(), name="api-function-preview-new"
    ),
    path(
        "functions/<int:function_id>/preview/",
        apis.FunctionPreviewApi.as_view(),
        name="api-function-preview",
    ),
    path(
        "functions/<int:function_id>/versions/",
        apis.FunctionVersionListApi.as_view(),
        name="api-function-versions",
    ),
    path(
        "functions/<int:function_id>/versions/<int:number>/",
        apis.FunctionVersionDetailApi.as_view(),
        name="api-function-version",
    ),
    path(
        "functions/<int:function_id>/versions/<int:number>/restore/",
        apis.FunctionVersionRestoreApi.as_view(),
        name="api-function-version-restore",
    ),
    path(
        "functions/<int:function_id>/deployments/",
        apis.FunctionDeploymentListApi.as_view(),
        name="api-function-deployments",
    ),
    path("instances/", apis.InstanceListApi.as_view(), name="api-instances"),
    path("instances/<int:instance_id>/", apis.InstanceDetailApi.as_view(), name="api-instance"),
    path(
        "instances/<int:instance_id>/rollback/",
        apis.InstanceRollbackApi.as_view(),
        name="api-instance-rollback",
    ),
    path("sources/", apis.SourceListApi.as_view(), name="api-sources"),
    path("sources/<int:source_id>/", apis.SourceDetailApi.as_view(), name="api-source"),
    path(
        "sources/<int:source_id>/rotate-write-key/",
        apis.SourceWriteKeyRotateApi.as_view(),
        name="api-source-rotate-write-key",
    ),
]
