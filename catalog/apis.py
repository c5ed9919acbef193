from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import DestinationInstance, Function, FunctionVersion, Source
from workspaces.api_base import WorkspaceApi


class CodeField(serializers.CharField):
    """Source code: text only (DRF's CharField would quietly turn 5 into "5")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TimeoutField(serializers.IntegerField):
    """A function's per-invocation time limit in ms; null means the platform default.
    Whole JSON numbers only: DRF would quietly accept "500" and 500.0."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class SettingSchemaSerializer(serializers.Serializer):
    label = serializers.CharField()
    name = serializers.CharField(required=False)
    type = serializers.ChoiceField(choices=["string", "boolean", "array", "map"], default="string")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    required = serializers.BooleanField(default=False)
    encrypted = serializers.BooleanField(default=False)


class FunctionOutputSerializer(serializers.ModelSerializer):
    settings_schema = SettingSchemaSerializer(many=True)
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = Function
        fields = [
            "id", "name", "description", "kind", "code", "settings_schema", "timeout_ms",
            "latest_version", "created_at", "updated_at",
        ]  # fmt: skip

    def get_latest_version(self, function: Function) -> int:
        annotated = getattr(function, "latest_version", None)
        return annotated or selectors.function_latest_number(function=function)


class FunctionListApi(WorkspaceApi):
    class FunctionCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        code = CodeField(required=False)
        settings_schema = serializers.ListField(child=serializers.DictField(), required=False)
        timeout_ms = TimeoutField()

    @extend_schema(responses=FunctionOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        functions = selectors.function_list_with_latest(access=self.access)
        return self.paginated(functions, FunctionOutputSerializer)

    @extend_schema(request=FunctionCreateInput, responses={201: FunctionOutputSerializer})
    def post(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_create_function)
        data = _validated(self.FunctionCreateInput, request.data)
        function = services.function_create(
            workspace=self.access.workspace, actor=request.user, **data
        )
        return Response(FunctionOutputSerializer(function).data, status=status.HTTP_201_CREATED)


def _validated(serializer_class: type[serializers.Serializer], data: Any, **kw: Any) -> Any:
    serializer = serializer_class(data=data, **kw)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FunctionDetailApi(WorkspaceApi):
    class FunctionUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        code = CodeField(required=False)
        settings_schema = serializers.ListField(child=serializers.DictField(), required=False)
        timeout_ms = TimeoutField()

    @extend_schema(responses=FunctionOutputSerializer)
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        return Response(FunctionOutputSerializer(function).data)

    @extend_schema(request=FunctionUpdateInput, responses=FunctionOutputSerializer)
    def patch(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk))
        data = _validated(self.FunctionUpdateInput, request.data)
        function = services.function_update(function=function, actor=request.user, **data)
        return Response(FunctionOutputSerializer(function).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk))
        services.function_delete(
            function=function,
            actor=request.user,
            may_change_instances=self.access.can_deploy_function,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionOutputSerializer(serializers.ModelSerializer):
    states = serializers.SerializerMethodField()
    created_by = serializers.StringRelatedField()

    class Meta:
        model = FunctionVersion
        fields = [
            "number", "code", "settings_schema", "states", "restored_from",
            "created_by", "created_at",
        ]  # fmt: skip

    def get_states(self, version: FunctionVersion) -> list[str]:
        return selectors.version_states(
            number=version.number, latest=self.context["latest"], deployed=self.context["deployed"]
        )


def _version_context(function: Function) -> dict[str, Any]:
    return {
        "latest": selectors.function_latest_number(function=function),
        "deployed": selectors.function_deployed_numbers(function=function),
    }


class FunctionVersionListApi(WorkspaceApi):
    @extend_schema(responses=VersionOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        versions = selectors.function_version_list(function=function).select_related("created_by")
        return self.paginated(versions, VersionOutputSerializer, **_version_context(function))


class FunctionVersionDetailApi(WorkspaceApi):
    @extend_schema(responses=VersionOutputSerializer)
    def get(self, request: Request, workspace_slug: str, function_id: int, number: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        version = selectors.function_version_get(function=function, number=number)
        return Response(VersionOutputSerializer(version, context=_version_context(function)).data)


class FunctionVersionRestoreApi(WorkspaceApi):
    @extend_schema(request=None, responses={201: VersionOutputSerializer})
    def post(
        self, request: Request, workspace_slug: str, function_id: int, number: int
    ) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk))
        version = selectors.function_version_get(function=function, number=number)
        restored = services.function_version_restore(
            function=function, version=version, actor=request.user
        )
        data = VersionOutputSerializer(restored, context=_version_context(function)).data
        return Response(data, status=status.HTTP_201_CREATED)


class DeploymentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.number")
    instances = serializers.SerializerMethodField()
    created_by = serializers.StringRelatedField()
    created_at = serializers.DateTimeField()

    def get_instances(self, deployment: Any) -> list[int]:
        return sorted(i.pk for i in deployment.instances.all())


class FunctionDeploymentListApi(WorkspaceApi):
    class DeployInput(serializers.Serializer):
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="Defaults to LATEST."
        )
        instances = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)

    @extend_schema(responses=DeploymentOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        deployments = selectors.deployment_list(function=function)
        return self.paginated(deployments, DeploymentOutputSerializer)

    @extend_schema(request=DeployInput, responses={201: DeploymentOutputSerializer})
    def post(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(
            self.access.can_deploy_function(function.pk),
            "Deploying needs Functions Admin for this function and Source Admin.",
        )
        data = _validated(self.DeployInput, request.data)
        number = data.get("version")
        if number is None:
            number = selectors.function_latest_number(function=function)
        version = selectors.function_version_get(function=function, number=number)
        instances = [
            selectors.instance_get(access=self.access, instance_id=i) for i in data["instances"]
        ]
        deployment = services.function_deploy(
            function=function, version=version, instances=instances, actor=request.user
        )
        return Response(DeploymentOutputSerializer(deployment).data, status=status.HTTP_201_CREATED)


class InstanceOutputSerializer(serializers.ModelSerializer):
    deployed_version = serializers.IntegerField(source="deployed_version.number")
    settings = serializers.SerializerMethodField(help_text="Encrypted values are masked.")

    class Meta:
        model = DestinationInstance
        fields = [
            "id", "name", "function", "source", "enabled", "deployed_version", "settings",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_settings(self, instance: DestinationInstance) -> dict[str, Any]:
        return selectors.instance_settings_masked(instance=instance)


class InstanceListApi(WorkspaceApi):
    class InstanceCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        function = serializers.IntegerField()
        source = serializers.IntegerField()
        enabled = serializers.BooleanField(default=True)
        settings = serializers.DictField(required=False, default=dict)

    @extend_schema(responses=InstanceOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        instances = selectors.instance_list(access=self.access)
        return self.paginated(instances, InstanceOutputSerializer)

    @extend_schema(request=InstanceCreateInput, responses={201: InstanceOutputSerializer})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = _validated(self.InstanceCreateInput, request.data)
        function = selectors.function_get(access=self.access, function_id=data["function"])
        self.require(
            self.access.can_deploy_function(function.pk),
            "Connecting needs Functions Admin for this function and Source Admin.",
        )
        source = selectors.source_get(access=self.access, source_id=data["source"])
        instance = services.instance_create(
            function=function,
            source=source,
            name=data["name"],
            enabled=data["enabled"],
            settings=data["settings"],
            actor=request.user,
        )
        return Response(InstanceOutputSerializer(instance).data, status=status.HTTP_201_CREATED)


class InstanceDetailApi(WorkspaceApi):
    class InstanceUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        enabled = serializers.BooleanField(required=False)
        settings = serializers.DictField(
            required=False, help_text="Encrypted settings left out keep their value."
        )

    def _instance(self, instance_id: int, *, change: bool) -> DestinationInstance:
        instance = selectors.instance_get(access=self.access, instance_id=instance_id)
        if change:
            self.require(
                self.access.can_deploy_function(instance.function_id),
                "Changing a live destination needs Functions Admin and Source Admin.",
            )
        return instance

    @extend_schema(responses=InstanceOutputSerializer)
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=False)
        return Response(InstanceOutputSerializer(instance).data)

    @extend_schema(request=InstanceUpdateInput, responses=InstanceOutputSerializer)
    def patch(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=True)
        data = _validated(self.InstanceUpdateInput, request.data)
        instance = services.instance_update(instance=instance, actor=request.user, **data)
        return Response(InstanceOutputSerializer(instance).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=True)
        services.instance_delete(instance=instance, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SourceOutputSerializer(serializers.ModelSerializer):
    write_key = serializers.SerializerMethodField(help_text="Shown to Source Admins only.")

    class Meta:
        model = Source
        fields = ["id", "name", "write_key", "created_at"]

    def get_write_key(self, source: Source) -> str | None:
        return source.write_key if self.context.get("show_write_key") else None


class SourceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class _SourceApi(WorkspaceApi):
    def _out(self, data: Any, **kw: Any) -> Any:
        context = {"show_write_key": self.access.can_manage_sources}
        return SourceOutputSerializer(data, context=context, **kw).data


class SourceListApi(_SourceApi):
    @extend_schema(responses=SourceOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        sources = selectors.source_list(access=self.access)
        return self.paginated(
            sources, SourceOutputSerializer, show_write_key=self.access.can_manage_sources
        )

    @extend_schema(request=SourceInputSerializer, responses={201: SourceOutputSerializer})
    def post(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_manage_sources)
        data = _validated(SourceInputSerializer, request.data)
        source = services.source_create(
            workspace=self.access.workspace, name=data["name"], actor=request.user
        )
        return Response(self._out(source), status=status.HTTP_201_CREATED)


class SourceDetailApi(_SourceApi):
    @extend_schema(responses=SourceOutputSerializer)
    def get(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        return Response(self._out(selectors.source_get(access=self.access, source_id=source_id)))

    @extend_schema(request=SourceInputSerializer, responses=SourceOutputSerializer)
    def patch(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        source = selectors.source_get(access=self.access, source_id=source_id)
        self.require(self.access.can_manage_sources)
        data = _validated(SourceInputSerializer, request.data)
        source = services.source_update(source=source, name=data["name"], actor=request.user)
        return Response(self._out(source))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        source = selectors.source_get(access=self.access, source_id=source_id)
        self.require(self.access.can_manage_sources)
        services.source_delete(
            source=source, actor=request.user, may_change_instances=self.access.can_deploy_function
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
