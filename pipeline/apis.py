from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.apis import instance_for_request
from catalog.selectors import source_get
from pipeline.models import (
    BATCH_SIZE_MAX,
    BATCH_SIZE_MIN,
    BATCH_WAIT_MS_MAX,
    BATCH_WAIT_MS_MIN,
    Event,
)
from pipeline.selectors import BatchSettings, instance_batching_get, source_recent_events
from pipeline.services import instance_batching_set
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
