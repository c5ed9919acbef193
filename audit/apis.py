from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditEvent
from audit.selectors import AuditFilters, audit_event_list
from workspaces.api_base import WorkspaceApi


class AuditFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, allow_blank=True, default="")
    action = serializers.CharField(required=False, allow_blank=True, default="")
    target = serializers.CharField(required=False, allow_blank=True, default="")
    since = serializers.DateField(required=False, allow_null=True, default=None)
    until = serializers.DateField(required=False, allow_null=True, default=None)


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    target = serializers.CharField(source="target_label")

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "action", "target_type", "target_id", "target",
            "ip_address", "changes",
        ]  # fmt: skip


class AuditEventListApi(WorkspaceApi):
    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in ("actor", "action", "target", "since", "until")
        ],
        responses=AuditEventOutputSerializer(many=True),
    )
    def get(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_view_audit)
        serializer = AuditFilterSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        events = audit_event_list(
            workspace=self.access.workspace, filters=AuditFilters(**serializer.validated_data)
        )
        return self.paginated(events, AuditEventOutputSerializer)
