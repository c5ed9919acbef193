from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.selectors import source_get
from pipeline.models import Event
from pipeline.selectors import (
    USAGE_DAYS_DEFAULT,
    USAGE_DAYS_MAX,
    FunctionUsage,
    function_usage_list,
    source_recent_events,
)
from pipeline.services import source_user_delete
from workspaces.api_base import WorkspaceApi


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


class UsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=USAGE_DAYS_MAX, default=USAGE_DAYS_DEFAULT
    )


class UsageDayOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    invocations = serializers.IntegerField()
    execution_ms = serializers.IntegerField()


class FunctionUsageOutputSerializer(serializers.Serializer):
    function = serializers.IntegerField(source="function_id")
    name = serializers.CharField()
    invocations = serializers.IntegerField(help_text="Over the whole period.")
    execution_ms = serializers.IntegerField(help_text="Over the whole period.")
    days = UsageDayOutputSerializer(many=True, help_text="Every day of the period, oldest first.")


class UsageApi(WorkspaceApi):
    @extend_schema(
        parameters=[OpenApiParameter("days", int, required=False)],
        responses=FunctionUsageOutputSerializer(many=True),
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        """Invocations and execution time per day (UTC) of the functions you may see, over
        the last ``days`` days (30 by default, at most 90) including today."""
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        usage: list[FunctionUsage] = function_usage_list(
            access=self.access, days=query.validated_data["days"], today=timezone.now().date()
        )
        return Response(FunctionUsageOutputSerializer(usage, many=True).data)


class UserDeletionInputSerializer(serializers.Serializer):
    userId = serializers.CharField(help_text="The user whose data the destinations delete.")


class UserDeletionOutputSerializer(serializers.Serializer):
    event = serializers.JSONField(help_text="The delete event sent to the destinations.")


class SourceUserDeleteApi(WorkspaceApi):
    @extend_schema(request=UserDeletionInputSerializer, responses=UserDeletionOutputSerializer)
    def post(self, request: Request, workspace_slug: str, source_id: int) -> Response:
        """Delete a user (Segment's user deletion): a ``delete`` event for ``userId`` goes
        to the source's enabled destinations, which handle it in ``onDelete``."""
        source = source_get(access=self.access, source_id=source_id)
        self.require(self.access.can_manage_sources)
        data = request.data if isinstance(request.data, dict) else {}
        event = source_user_delete(
            source=source, user_id=data.get("userId"), actor=self.access.user
        )
        return Response({"event": event})
