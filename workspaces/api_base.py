"""The base of every workspace-scoped API view: who is asking, in which workspace."""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from workspaces.models import ApiToken
from workspaces.permissions import WorkspaceAccess
from workspaces.selectors import workspace_access_for_slug

# The most results one page of any list holds: a larger ?limit= gives this many.
MAX_PAGE_SIZE = 200
# The largest ?limit= or ?offset= taken at all: the databases' integer range.
MAX_PAGE_PARAMETER = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def _page_parameter(request: Request, name: str, *, minimum: int, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only: int() would also take "+5", " 5", other scripts' digits and
    # numbers thousands of digits long.
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or not minimum <= value <= MAX_PAGE_PARAMETER:
        raise ValidationError(
            {name: [f"Must be a whole number from {minimum} to {MAX_PAGE_PARAMETER}."]}
        )
    return value


class WorkspacePagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages of at most MAX_PAGE_SIZE results; a value that is not a
    whole number in range is a 400 naming the parameter, never a 500 or a silent default."""

    max_limit = MAX_PAGE_SIZE
    default_limit: int  # PAGE_SIZE in the settings: every list is paginated
    limit_query_description = (
        f"Number of results per page (default {LimitOffsetPagination.default_limit}), at "
        f"most {MAX_PAGE_SIZE}: a larger limit gives {MAX_PAGE_SIZE}."
    )
    offset_query_description = "Index of the first result to return (default 0)."

    def get_limit(self, request: Request) -> int:
        limit = _page_parameter(
            request, self.limit_query_param, minimum=1, default=self.default_limit
        )
        return min(limit, MAX_PAGE_SIZE)

    def get_offset(self, request: Request) -> int:
        return _page_parameter(request, self.offset_query_param, minimum=0, default=0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": MAX_PAGE_SIZE},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class WorkspaceApi(APIView):
    """Resolves ``self.access`` from the URL's workspace; non-members get a 404.

    A personal access token only opens the workspace it was created in.
    """

    access: WorkspaceAccess
    pagination_class = WorkspacePagination  # read by the OpenAPI schema of list responses

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
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, self.request, view=self)
        data = serializer_class(page, many=True, context=context).data
        return paginator.get_paginated_response(data)
