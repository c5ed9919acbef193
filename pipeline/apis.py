from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.apis import JSONValueField, RefusalSerializer
from catalog.models import DestinationInstance
from catalog.selectors import instance_get, source_get
from pipeline.models import Event, InstanceFilters
from pipeline.selectors import instance_filters_get, source_recent_events
from pipeline.services import instance_filters_preview, instance_filters_set
from workspaces.api_base import WorkspaceApi

FILTERS_CHANGE_REFUSED = (
    "Changing a live destination's filters needs Functions Admin and Source Admin."
)
RULES_HELP = (
    "The ordered rules: {action: only_send | drop, match: all | any, conditions: [{field, "
    "op, value}]} or {action: drop_fields, fields: [paths]}. Operators: equals, not_equals, "
    "contains, exists, not_exists, in, gt, gte, lt, lte."
)


class RecentEventOutputSerializer(serializers.ModelSerializer):
    event = serializers.JSONField(source="payload", help_text="As stored on arrival.")

    class Meta:
        model = Event
        fields = ["id", "type", "message_id", "received_at", "event"]


class SourceRecentEventsApi(WorkspaceApi):
    @extend_schema(responses=RecentEventOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        """The source's most recent events (at most 100), newest first: samples to test
        functions on."""
        source = source_get(access=self.access, source_id=source_id)
        return self.paginated(source_recent_events(source=source), RecentEventOutputSerializer)


class FiltersOutputSerializer(serializers.ModelSerializer):
    rules = serializers.JSONField(help_text=RULES_HELP)
    updated_by = serializers.SerializerMethodField(help_text="Who saved them last.")

    class Meta:
        model = InstanceFilters
        fields = ["rules", "updated_by", "updated_at"]
        extra_kwargs = {"updated_at": {"help_text": "Null while the instance has no filters."}}

    def get_updated_by(self, filters: InstanceFilters) -> str | None:
        return filters.updated_by.get_username() if filters.updated_by else None


class InstanceFiltersApi(WorkspaceApi):
    class FiltersInput(serializers.Serializer):
        rules = JSONValueField(help_text=RULES_HELP)

    def _instance(self, instance_id: int, *, change: bool) -> DestinationInstance:
        instance = instance_get(access=self.access, instance_id=instance_id)
        if change:
            self.require(
                self.access.can_deploy_function(instance.function_id), FILTERS_CHANGE_REFUSED
            )
        return instance

    @extend_schema(responses=FiltersOutputSerializer)
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """The instance's destination filters: which events its function is given, and
        without which fields."""
        instance = self._instance(instance_id, change=False)
        return Response(FiltersOutputSerializer(instance_filters_get(instance=instance)).data)

    @extend_schema(
        request=FiltersInput, responses={200: FiltersOutputSerializer, 400: RefusalSerializer}
    )
    def put(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """Replace the filters with ``rules`` (all of them, in order; [] removes them). A bad
        rule is a 400 naming the rule and its field; nothing is saved then."""
        instance = self._instance(instance_id, change=True)
        data = self.FiltersInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = instance_filters_set(
            instance=instance, rules=data.validated_data["rules"], actor=self.access.user
        )
        return Response(FiltersOutputSerializer(row).data)


class FilterPreviewOutputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["send", "drop"])
    rule = serializers.IntegerField(
        allow_null=True, help_text="The number (from 1) of the rule that dropped the event."
    )
    reason = serializers.CharField(allow_null=True, help_text="Why the event is dropped.")
    event = serializers.JSONField(help_text="The event as the function would be given it.")


class InstanceFiltersPreviewApi(WorkspaceApi):
    class PreviewInput(serializers.Serializer):
        event = JSONValueField(help_text="The event to test, a JSON object.")
        rules = JSONValueField(
            required=False, help_text="Rules to test instead of the saved ones (not saved)."
        )

        def validate_event(self, value: Any) -> Any:
            if not isinstance(value, dict):
                raise serializers.ValidationError("Must be a JSON object (an event).")
            return value

    @extend_schema(
        request=PreviewInput,
        responses={200: FilterPreviewOutputSerializer, 400: RefusalSerializer},
    )
    def post(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """Test the filters on one event: would the function be given it, and as what.
        Runs no code and changes nothing."""
        instance = instance_get(access=self.access, instance_id=instance_id)
        data = self.PreviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        preview = instance_filters_preview(
            instance=instance,
            event=data.validated_data["event"],
            rules=data.validated_data.get("rules"),
        )
        body = {
            "decision": "send" if preview.send else "drop",
            "rule": preview.rule,
            "reason": preview.reason,
            "event": preview.event,
        }
        return Response(FilterPreviewOutputSerializer(body).data)
