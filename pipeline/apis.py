from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.apis import JSONValueField, RefusalSerializer, instance_for_request
from catalog.models import DestinationInstance
from catalog.selectors import source_get
from pipeline.delivery import DELIVERY_ERROR, INSTANCE_DISABLED
from pipeline.models import (
    BATCH_SIZE_MAX,
    BATCH_SIZE_MIN,
    BATCH_WAIT_MS_MAX,
    BATCH_WAIT_MS_MIN,
    DeliveryAttempt,
    DeliveryJob,
    Event,
    InstanceFilters,
)
from pipeline.selectors import (
    DELIVERY_RANGES,
    FAILED_STATES,
    USAGE_DAYS_DEFAULT,
    USAGE_DAYS_MAX,
    BatchSettings,
    DeliverySummary,
    FunctionUsage,
    delivery_range_parse,
    function_usage_list,
    instance_batching_get,
    instance_delivery_failures,
    instance_delivery_summary,
    instance_filters_get,
    source_recent_events,
)
from pipeline.services import (
    ReplayFilter,
    delivery_jobs_replay,
    instance_batching_set,
    instance_filters_preview,
    instance_filters_set,
    source_user_delete,
)
from runtime.services import OUTCOMES, SUCCESS
from workspaces.api_base import WorkspaceApi

# The outcomes a job can be discarded with: what a replay may filter on.
REPLAY_CATEGORIES = [
    *(outcome for outcome in OUTCOMES if outcome != SUCCESS),
    INSTANCE_DISABLED,
    DELIVERY_ERROR,
]

REPLAY_REFUSED = "Replaying events to a live destination needs Functions Admin and Source Admin."
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


# --- Event Delivery and Replay of a destination instance


class DeliveryBucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Per state.")


class DeliveryErrorSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="The outcome's name, as Segment's (bad_request...).")
    state = serializers.ChoiceField(choices=FAILED_STATES)
    count = serializers.IntegerField()


class DeliverySummarySerializer(serializers.Serializer):
    range = serializers.ChoiceField(choices=list(DELIVERY_RANGES))
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bucket_seconds = serializers.SerializerMethodField()
    totals = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Attempts ended per state: delivered, retrying, discarded, filtered.",
    )
    series = DeliveryBucketSerializer(many=True)
    errors = DeliveryErrorSerializer(many=True)  # type: ignore[assignment]  # not Serializer.errors
    duration_ms = serializers.IntegerField(help_text="The attempts' total run time.")

    def get_bucket_seconds(self, summary: DeliverySummary) -> int:
        return int(summary.bucket.total_seconds())


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    logs = serializers.SerializerMethodField()
    requests = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "finished_at",
            "outcome",
            "error_type",
            "error_message",
            "duration_ms",
            "logs",
            "requests",
        ]

    # Logs and request traces may hold user data: only for who may view the function.
    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_logs(self, attempt: DeliveryAttempt) -> list[Any] | None:
        return attempt.logs if self.context.get("show_logs") else None

    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_requests(self, attempt: DeliveryAttempt) -> list[Any] | None:
        return attempt.requests if self.context.get("show_logs") else None


class DeliveryFailureSerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type")
    message_id = serializers.CharField(source="event.message_id")
    attempt_log = DeliveryAttemptSerializer(source="delivery_attempts", many=True)

    class Meta:
        model = DeliveryJob
        fields = [
            "id",
            "state",
            "attempts",
            "last_outcome",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "event_type",
            "message_id",
            "attempt_log",
        ]


class InstanceDeliveryApi(WorkspaceApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("range", enum=list(DELIVERY_RANGES), default="hour", required=False)
        ],
        responses=DeliverySummarySerializer,
    )
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """Event Delivery: the instance's attempts over the last hour, day or week, per
        state, per bucket of time and per failure category."""
        instance = instance_for_request(self.access, instance_id, change=False)
        range_name = delivery_range_parse(value=request.query_params.get("range"))
        summary = instance_delivery_summary(
            instance=instance, range_name=range_name, now=timezone.now()
        )
        return Response(DeliverySummarySerializer(summary).data)


class InstanceDeliveryFailuresApi(WorkspaceApi):
    @extend_schema(responses=DeliveryFailureSerializer(many=True))
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """The instance's failed jobs (retrying or discarded), the latest first, with
        their attempts. Logs and request traces are null for members who may not view
        the function."""
        instance = instance_for_request(self.access, instance_id, change=False)
        return self.paginated(
            instance_delivery_failures(instance=instance),
            DeliveryFailureSerializer,
            show_logs=self.access.can_view_function(instance.function_id),
        )


class ReplayInputSerializer(serializers.Serializer):
    job = serializers.IntegerField(required=False, min_value=1, help_text="One discarded job.")
    category = serializers.ChoiceField(
        choices=REPLAY_CATEGORIES, required=False, help_text="Its last attempt's outcome."
    )
    since = serializers.DateTimeField(required=False, help_text="Last attempt at or after.")
    until = serializers.DateTimeField(required=False, help_text="Last attempt before.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A misspelt filter would otherwise replay every discarded job.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {
                    name: ["Unknown field: give job, or category, since and until."]
                    for name in unknown
                }
            )
        return attrs


class ReplayOutputSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Jobs queued for delivery again.")


class InstanceReplayApi(WorkspaceApi):
    @extend_schema(
        request=ReplayInputSerializer,
        responses={200: ReplayOutputSerializer, 400: RefusalSerializer},
    )
    def post(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        """Deliver discarded jobs of the instance again: one ``job``, or every one
        matching the filter (all of them when it is empty)."""
        instance = instance_for_request(
            self.access,
            instance_id,
            change=True,
            refused=REPLAY_REFUSED,
        )
        serializer = ReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        match = ReplayFilter(
            job_id=data.get("job"),
            category=data.get("category"),
            since=data.get("since"),
            until=data.get("until"),
        )
        queued = delivery_jobs_replay(instance=instance, match=match, actor=self.access.user)
        return Response({"queued": queued})


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
        return instance_for_request(
            self.access, instance_id, change=change, refused=FILTERS_CHANGE_REFUSED
        )

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
        instance = instance_for_request(self.access, instance_id, change=False)
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


class BatchingSerializer(serializers.Serializer):
    size = serializers.IntegerField(
        help_text=f"Events per batch, {BATCH_SIZE_MIN} to {BATCH_SIZE_MAX} (default 20)."
    )
    wait_ms = serializers.IntegerField(
        help_text=(
            f"Longest wait for a batch to fill, {BATCH_WAIT_MS_MIN} to {BATCH_WAIT_MS_MAX} ms "
            "(default 10000)."
        )
    )


def _batching(settings: BatchSettings) -> Response:
    return Response({"size": settings.size, "wait_ms": settings.wait_ms})


class InstanceBatchingApi(WorkspaceApi):
    """How the instance's batches are flushed when its function defines ``onBatch``: at
    ``size`` events or after ``wait_ms``, whichever comes first; at under about one event
    per second, events go to the single-event handlers."""

    @extend_schema(responses=BatchingSerializer)
    def get(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = instance_for_request(self.access, instance_id, change=False)
        return _batching(instance_batching_get(instance=instance))

    @extend_schema(request=BatchingSerializer, responses=BatchingSerializer)
    def put(self, request: Request, workspace_slug: str, instance_id: int) -> Response:
        instance = instance_for_request(self.access, instance_id, change=True)
        serializer = BatchingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settings = instance_batching_set(
            instance=instance, actor=self.access.user, **serializer.validated_data
        )
        return _batching(settings)
