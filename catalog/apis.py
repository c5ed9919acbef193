from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.models import DeploymentKind, DestinationInstance, Function, FunctionVersion, Source
from catalog.preview import (
    PREVIEW_NEW_REFUSED,
    PREVIEW_REFUSED,
    PreviewRateLimited,
    function_preview_run_sync,
)
from catalog.settings_schema import JSON_TOO_DEEP, json_depth_check
from runtime.services import OUTCOMES
from workspaces.api_base import WorkspaceApi
from workspaces.permissions import WorkspaceAccess


class CodeField(serializers.CharField):
    """Source code: text only (DRF's CharField would quietly turn 5 into "5")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """Whole JSON numbers only: DRF would quietly accept "500", 500.0 and true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TimeoutField(WholeNumberField):
    """A function's per-invocation time limit in ms; null means the platform default."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            allow_null=True,
            help_text="Time limit of one invocation in ms (null: the platform default). Part "
            "of the version, like the code: a change saves a new version, which instances "
            "run once it is deployed to them.",
            **kwargs,
        )


class DescriptionField(serializers.CharField):
    """A function's description: longer than the limit is a 400, never cut."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False, allow_blank=True, max_length=services.MAX_DESCRIPTION_CHARS, **kwargs
        )


class JSONValueField(serializers.JSONField):
    """Any JSON value. Also given as JSON text (form bodies), it is held to the depth limit
    of every JSON input (``MAX_JSON_DEPTH``) before anything walks it."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            value = super().to_internal_value(data)
        except RecursionError as exc:
            raise serializers.ValidationError(JSON_TOO_DEEP) from exc
        try:
            json_depth_check(value, field=self.field_name or "")
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


# Fields named like attributes of DRF's Field (label, required, errors, source) carry an
# ignore: the stubs take them for those attributes, but a serializer's metaclass moves its
# declared fields out of the class.
class SettingSchemaSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    name = serializers.CharField(required=False)
    type = serializers.ChoiceField(choices=["string", "boolean", "array", "map"], default="string")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]  # not Field.required
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
        extra_kwargs = {
            "timeout_ms": {
                "help_text": "LATEST's time limit of one invocation in ms (null: the platform "
                "default); each version keeps its own."
            }
        }

    def get_latest_version(self, function: Function) -> int:
        annotated = getattr(function, "latest_version", None)
        return annotated or selectors.function_latest_number(function=function)


class FunctionListApi(WorkspaceApi):
    class FunctionCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        description = DescriptionField(default="")
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
            workspace=self.access.workspace, actor=self.access.user, **data
        )
        return Response(FunctionOutputSerializer(function).data, status=status.HTTP_201_CREATED)


def _validated(serializer_class: type[serializers.Serializer], data: Any, **kw: Any) -> Any:
    serializer = serializer_class(data=data, **kw)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _refused(exc: DjangoValidationError, status_code: int, **extra: Any) -> Response:
    """A service's refusal in the API's error shape, its own words as ``detail``."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    body = {"detail": " ".join(exc.messages), "errors": errors, **extra}
    return Response(body, status=status_code)


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(  # type: ignore[assignment]  # not Serializer.errors
        child=serializers.ListField(child=serializers.CharField())
    )


class VersionConflictSerializer(RefusalSerializer):
    latest_version = serializers.IntegerField()


class FunctionDetailApi(WorkspaceApi):
    class FunctionUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        description = DescriptionField()
        code = CodeField(required=False)
        settings_schema = serializers.ListField(child=serializers.DictField(), required=False)
        timeout_ms = TimeoutField()
        base_version = WholeNumberField(
            required=False,
            allow_null=True,
            min_value=1,
            help_text="The version the edit is based on. When it is no longer LATEST, nothing "
            "is saved and the answer is 409. Left out or null: no check.",
        )

    @extend_schema(responses=FunctionOutputSerializer)
    def get(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        return Response(FunctionOutputSerializer(function).data)

    @extend_schema(
        request=FunctionUpdateInput,
        responses={200: FunctionOutputSerializer, 409: VersionConflictSerializer},
    )
    def patch(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk))
        data = _validated(self.FunctionUpdateInput, request.data)
        try:
            function = services.function_update(function=function, actor=self.access.user, **data)
        except services.VersionConflict as exc:
            return _refused(exc, status.HTTP_409_CONFLICT, latest_version=exc.latest_version)
        return Response(FunctionOutputSerializer(function).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk))
        services.function_delete(
            function=function,
            actor=self.access.user,
            may_change_instances=self.access.can_deploy_function,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionOutputSerializer(serializers.ModelSerializer):
    states = serializers.SerializerMethodField()
    created_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = FunctionVersion
        fields = [
            "number", "code", "settings_schema", "timeout_ms", "states", "restored_from",
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
            function=function, version=version, actor=self.access.user
        )
        data = VersionOutputSerializer(restored, context=_version_context(function)).data
        return Response(data, status=status.HTTP_201_CREATED)


class DeploymentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version.number")
    kind = serializers.ChoiceField(
        choices=DeploymentKind.choices,
        help_text="connect: the version an instance started with; deploy; rollback.",
    )
    instances = serializers.SerializerMethodField()
    created_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()
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

    @extend_schema(
        request=DeployInput, responses={201: DeploymentOutputSerializer, 400: RefusalSerializer}
    )
    def post(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        """Deploy a version to instances: all or none. Each instance's stored setting values
        must suit the version's schema; otherwise nothing is deployed and the 400 names
        each instance, setting and problem."""
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
        try:
            deployment = services.function_deploy(
                function=function, version=version, instances=instances, actor=self.access.user
            )
        except DjangoValidationError as exc:
            return _refused(exc, status.HTTP_400_BAD_REQUEST)
        return Response(DeploymentOutputSerializer(deployment).data, status=status.HTTP_201_CREATED)


class InstanceOutputSerializer(serializers.ModelSerializer):
    deployed_version = serializers.IntegerField(source="deployed_version.number")
    previous_version = serializers.SerializerMethodField(
        help_text="The version it ran before its current one: what a rollback deploys."
    )
    settings = serializers.SerializerMethodField(help_text="Encrypted values are masked.")
    write_only_settings = serializers.SerializerMethodField(
        help_text="Settings whose values are shown masked: encrypted ones, and values entered "
        "while a setting was encrypted, even if the schema no longer says so. They can be "
        "replaced or cleared (null), never read."
    )

    class Meta:
        model = DestinationInstance
        fields = [
            "id", "name", "function", "source", "enabled", "deployed_version",
            "previous_version", "settings", "write_only_settings", "created_at", "updated_at",
        ]  # fmt: skip

    def get_previous_version(self, instance: DestinationInstance) -> int | None:
        return selectors.instance_previous_number(instance=instance)

    def get_settings(self, instance: DestinationInstance) -> dict[str, Any]:
        return selectors.instance_settings_masked(instance=instance)

    def get_write_only_settings(self, instance: DestinationInstance) -> list[str]:
        return selectors.instance_write_only_names(instance=instance)


class InstanceListApi(WorkspaceApi):
    class InstanceCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        function = serializers.IntegerField()
        source = serializers.IntegerField()  # type: ignore[assignment]  # a field, not Field.source
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
            actor=self.access.user,
        )
        return Response(InstanceOutputSerializer(instance).data, status=status.HTTP_201_CREATED)


INSTANCE_CHANGE_REFUSED = "Changing a live destination needs Functions Admin and Source Admin."


def instance_for_request(
    access: WorkspaceAccess,
    instance_id: int,
    *,
    change: bool,
    refused: str = INSTANCE_CHANGE_REFUSED,
) -> DestinationInstance:
    """The instance, if the member sees it (else 404); with ``change``, 403 (saying
    ``refused``) unless the member may change it. For every API of an instance and its
    parts."""
    instance = selectors.instance_get(access=access, instance_id=instance_id)
    if change:
        WorkspaceApi.require(access.can_deploy_function(instance.function_id), refused)
    return instance


class InstanceDetailApi(WorkspaceApi):
    class InstanceUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        enabled = serializers.BooleanField(required=False)
        settings = serializers.DictField(
            required=False, help_text="Encrypted settings left out keep their value."
        )

    def _instance(self, instance_id: int, *, change: bool) -> DestinationInstance:
        return instance_for_request(self.access, instance_id, change=change)

    @extend_schema(responses=InstanceOutputSerializer)
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=False)
        return Response(InstanceOutputSerializer(instance).data)

    @extend_schema(request=InstanceUpdateInput, responses=InstanceOutputSerializer)
    def patch(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=True)
        data = _validated(self.InstanceUpdateInput, request.data)
        instance = services.instance_update(instance=instance, actor=self.access.user, **data)
        return Response(InstanceOutputSerializer(instance).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = self._instance(instance_id, change=True)
        services.instance_delete(instance=instance, actor=self.access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstanceRollbackApi(WorkspaceApi):
    @extend_schema(request=None, responses={200: InstanceOutputSerializer, 400: RefusalSerializer})
    def post(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """Deploy to this instance the version it ran before its current one."""
        instance = selectors.instance_get(access=self.access, instance_id=instance_id)
        self.require(
            self.access.can_deploy_function(instance.function_id),
            "Rolling back a live destination needs Functions Admin and Source Admin.",
        )
        try:
            instance = services.instance_rollback(instance=instance, actor=self.access.user)
        except DjangoValidationError as exc:
            return _refused(exc, status.HTTP_400_BAD_REQUEST)
        return Response(InstanceOutputSerializer(instance).data)


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
            workspace=self.access.workspace, name=data["name"], actor=self.access.user
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
        source = services.source_update(source=source, name=data["name"], actor=self.access.user)
        return Response(self._out(source))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        source = selectors.source_get(access=self.access, source_id=source_id)
        self.require(self.access.can_manage_sources)
        services.source_delete(
            source=source,
            actor=self.access.user,
            may_change_instances=self.access.can_deploy_function,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SourceWriteKeyRotateApi(_SourceApi):
    @extend_schema(request=None, responses=SourceOutputSerializer)
    def post(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        """Give the source a new write key; the Tracking API refuses the old one from now on."""
        source = selectors.source_get(access=self.access, source_id=source_id)
        self.require(self.access.can_manage_sources)
        source = services.source_write_key_rotate(source=source, actor=self.access.user)
        return Response(self._out(source))


# --- test runs (previews) ------------------------------------------------------------------
# A preview runs code with the workspace's network access, so it needs Functions Admin on
# that function (or, for a function not saved yet, the right to create one). It changes
# nothing and writes no audit row.


class PreviewErrorSerializer(serializers.Serializer):
    type = serializers.CharField()
    message = serializers.CharField()
    line = serializers.IntegerField(required=False, help_text="For user-code errors that say.")
    column = serializers.IntegerField(required=False)


class PreviewLogSerializer(serializers.Serializer):
    level = serializers.CharField()
    message = serializers.CharField()


class PreviewOutputSerializer(serializers.Serializer):
    # Text rather than an enum: the test cases' expected_outcome names the same set.
    outcome = serializers.CharField(help_text="One of: " + ", ".join(OUTCOMES) + ".")
    error = PreviewErrorSerializer(allow_null=True)
    result = serializers.JSONField(allow_null=True, help_text="The handler's return value.")
    logs = PreviewLogSerializer(many=True)
    requests = serializers.ListField(
        child=serializers.DictField(),
        help_text="One trace per fetch: method, url, status, duration_ms, headers and "
        "bodies (secrets masked), error.",
    )
    duration_ms = serializers.FloatField()
    truncated = serializers.BooleanField(help_text="The runtime capped the logs or requests.")


class PreviewRateLimitedError(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, exc: PreviewRateLimited) -> None:
        super().__init__(detail=str(exc))
        self.wait = exc.retry_after_s  # DRF turns it into a Retry-After header


class PreviewPayloadField(JSONValueField):
    """An event object, or an array of events for onBatch."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict | list):
            raise serializers.ValidationError("Must be an event object or an array of events.")
        return super().to_internal_value(data)


def _preview(access: WorkspaceAccess, **kwargs: Any) -> Response:
    try:
        result = function_preview_run_sync(access=access, **kwargs)
    except PreviewRateLimited as exc:
        raise PreviewRateLimitedError(exc) from exc
    return Response(PreviewOutputSerializer(result).data)


_PREVIEW_RESPONSES = {200: PreviewOutputSerializer, 429: None}


class FunctionPreviewNewApi(WorkspaceApi):
    class FunctionPreviewNewInput(serializers.Serializer):
        code = CodeField()
        settings_schema = serializers.ListField(
            child=serializers.DictField(), required=False, default=list
        )
        settings = serializers.DictField(required=False, default=dict)
        payload = PreviewPayloadField()

    @extend_schema(
        operation_id="workspaces_functions_preview_new",
        request=FunctionPreviewNewInput,
        responses=_PREVIEW_RESPONSES,
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        """Run unsaved code once on an event (or a batch) as a test."""
        self.require(self.access.can_create_function, PREVIEW_NEW_REFUSED)
        data = _validated(self.FunctionPreviewNewInput, request.data)
        return _preview(self.access, function_id=None, **data)


class FunctionPreviewApi(WorkspaceApi):
    class FunctionPreviewInput(serializers.Serializer):
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="Defaults to LATEST."
        )
        settings = serializers.DictField(required=False, default=dict)
        payload = PreviewPayloadField()

    @extend_schema(
        operation_id="workspaces_functions_preview_version",
        request=FunctionPreviewInput,
        responses=_PREVIEW_RESPONSES,
    )
    def post(self, request: Request, workspace_slug: str, function_id: int) -> Response:
        """Run a saved version (LATEST by default) once on an event (or a batch) as a test."""
        function = selectors.function_get(access=self.access, function_id=function_id)
        self.require(self.access.can_edit_function(function.pk), PREVIEW_REFUSED)
        data = _validated(self.FunctionPreviewInput, request.data)
        number = data.get("version") or selectors.function_latest_number(function=function)
        version = selectors.function_version_get(function=function, number=number)
        return _preview(
            self.access,
            function_id=function.pk,
            code=version.code,
            settings_schema=version.settings_schema,
            settings=data["settings"],
            payload=data["payload"],
            timeout_ms=version.timeout_ms,
        )
