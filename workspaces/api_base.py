"""The base of every workspace-scoped API view: who is asking, in which workspace."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from workspaces.models import ApiToken
from workspaces.permissions import WorkspaceAccess
from workspaces.selectors import workspace_access_for_slug


class WorkspaceApi(APIView):
    """Resolves ``self.access`` from the URL's workspace; non-members get a 404.

    A personal access token only opens the workspace it was created in.
    """

    access: WorkspaceAccess

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = workspace_access_for_slug(user=request.user, slug=kwargs["workspace_slug"])
        token = request.auth
        if isinstance(token, ApiToken) and token.workspace_id != self.access.workspace.pk:
            raise Http404("No such workspace")

    @staticmethod
    def require(allowed: bool, message: str = "Your role does not allow this.") -> None:
        if not allowed:
            raise PermissionDenied(message)

    def paginated(
        self, items: Any, serializer_class: type[BaseSerializer], **context: Any
    ) -> Response:
        """A ``{count, next, previous, results}`` page (``?limit=&offset=``) of ``items``."""
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(items, self.request, view=self)
        data = serializer_class(page, many=True, context=context).data
        return paginator.get_paginated_response(data)
