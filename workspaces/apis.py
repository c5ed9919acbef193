from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces import selectors, services
from workspaces.api_base import WorkspaceApi
from workspaces.models import ApiToken, Invitation, Membership, Role, Workspace
from workspaces.services import MAX_ROW_ID


class WorkspaceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug"]


class WorkspaceListApi(APIView):
    @extend_schema(responses=WorkspaceOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        workspaces = selectors.workspace_list_for_user(user=request.user)
        if isinstance(request.auth, ApiToken):
            workspaces = workspaces.filter(pk=request.auth.workspace_id)
        return Response(WorkspaceOutputSerializer(workspaces, many=True).data)


class GrantSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    all_functions = serializers.BooleanField(default=True)
    functions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ROW_ID),
        required=False,
        default=list,
    )


def grant_specs(grants: list[dict[str, Any]]) -> list[services.GrantSpec]:
    return [
        services.GrantSpec(
            role=g["role"], all_functions=g["all_functions"], function_ids=frozenset(g["functions"])
        )
        for g in grants
    ]


def grants_out(grants: Any) -> list[dict[str, Any]]:
    """A member's or an invitation's role grants (``.grants``, prefetched with functions)."""
    return [
        {
            "role": g.role,
            "all_functions": g.all_functions,
            "functions": sorted(f.pk for f in g.functions.all()),
        }
        for g in sorted(grants.all(), key=lambda g: g.role)
    ]


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    roles = serializers.SerializerMethodField()

    def get_roles(self, membership: Membership) -> list[dict[str, Any]]:
        return grants_out(membership.grants)


class MemberListApi(WorkspaceApi):
    """Members join by accepting an invitation (``invitations/``), never by name."""

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_view_members)
        members = selectors.membership_list(workspace=self.access.workspace)
        return self.paginated(members, MemberOutputSerializer)


class MemberDetailApi(WorkspaceApi):
    class MemberRolesInput(serializers.Serializer):
        roles = GrantSerializer(many=True)

    def _membership(self, member_id: int) -> Membership:
        self.require(self.access.can_view_members)
        return selectors.membership_get(workspace=self.access.workspace, membership_id=member_id)

    @extend_schema(responses=MemberOutputSerializer)
    def get(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        return Response(MemberOutputSerializer(self._membership(member_id)).data)

    @extend_schema(request=MemberRolesInput, responses=MemberOutputSerializer)
    def patch(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        membership = self._membership(member_id)
        self.require(self.access.can_manage_members)
        serializer = self.MemberRolesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.member_roles_set(
            membership=membership,
            grants=grant_specs(serializer.validated_data["roles"]),
            actor=self.access.user,
        )
        return Response(MemberOutputSerializer(self._membership(member_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, member_id: int) -> Response:
        membership = self._membership(member_id)
        self.require(self.access.can_manage_members)
        services.member_remove(membership=membership, actor=self.access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


NO_STORE = {"Cache-Control": "no-store"}
# Like a token minting its successor: an invitation made with a leaked token would let its
# holder in for good, revoking the token or not.
INVITATIONS_NEED_A_SESSION = "Invitations are created from a signed-in session, not a token."


class InvitationOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "note", "roles", "created_by", "created_at", "expires_at"]

    def get_roles(self, invitation: Invitation) -> list[dict[str, Any]]:
        return grants_out(invitation.grants)


class InvitationCreatedOutputSerializer(InvitationOutputSerializer):
    """A new invitation, with its code and link: shown in this response only."""

    code = serializers.CharField()
    url = serializers.URLField()

    class Meta(InvitationOutputSerializer.Meta):
        fields = [*InvitationOutputSerializer.Meta.fields, "code", "url"]


class InvitationListApi(WorkspaceApi):
    """Pending invitations. Whoever is handed one's link joins by accepting it, signed in,
    on the page the link opens; no account is looked up when one is made."""

    class InvitationCreateInput(serializers.Serializer):
        note = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        roles = GrantSerializer(many=True)

    @extend_schema(responses=InvitationOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_manage_members)
        invitations = selectors.invitation_pending_list(workspace=self.access.workspace)
        return self.paginated(invitations, InvitationOutputSerializer)

    @extend_schema(
        request=InvitationCreateInput, responses={201: InvitationCreatedOutputSerializer}
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        self.require(self.access.can_manage_members)
        self.require(not isinstance(request.auth, ApiToken), INVITATIONS_NEED_A_SESSION)
        serializer = self.InvitationCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, code = services.invitation_create(
            workspace=self.access.workspace,
            grants=grant_specs(serializer.validated_data["roles"]),
            note=serializer.validated_data["note"],
            actor=self.access.user,
        )
        invitation = selectors.invitation_pending_get(
            workspace=self.access.workspace, invitation_id=invitation.pk
        )
        url = request.build_absolute_uri(reverse("invitation", args=[code]))
        data = dict(InvitationOutputSerializer(invitation).data) | {"code": code, "url": url}
        # The link is shown once: no cache may keep a copy.
        return Response(data, status=status.HTTP_201_CREATED, headers=NO_STORE)


class InvitationDetailApi(WorkspaceApi):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, invitation_id: int) -> Response:
        self.require(self.access.can_manage_members)
        invitation = selectors.invitation_pending_get(
            workspace=self.access.workspace, invitation_id=invitation_id
        )
        services.invitation_revoke(invitation=invitation, actor=self.access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# A leaked token must not be able to mint its own successor before it is revoked.
TOKENS_NEED_A_SESSION = "Tokens are created and revoked from a signed-in session, not a token."


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class TokenListApi(WorkspaceApi):
    """Personal access tokens of the caller in this workspace."""

    class TokenCreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(responses=TokenOutputSerializer(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        tokens = selectors.api_token_list(user=self.access.user, workspace=self.access.workspace)
        return self.paginated(tokens, TokenOutputSerializer)

    @extend_schema(request=TokenCreateInput, responses={201: TokenOutputSerializer})
    def post(self, request: Request, workspace_slug: str) -> Response:
        self.require(not isinstance(request.auth, ApiToken), TOKENS_NEED_A_SESSION)
        serializer = self.TokenCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            user=self.access.user,
            workspace=self.access.workspace,
            name=serializer.validated_data["name"],
        )
        data = dict(TokenOutputSerializer(token).data) | {"token": raw}
        # The plaintext is shown once: no cache may keep a copy.
        return Response(data, status=status.HTTP_201_CREATED, headers=NO_STORE)


class TokenDetailApi(WorkspaceApi):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, token_id: int) -> Response:
        self.require(not isinstance(request.auth, ApiToken), TOKENS_NEED_A_SESSION)
        tokens = selectors.api_token_list(user=self.access.user, workspace=self.access.workspace)
        token = tokens.filter(pk=token_id).first()
        if token is None:
            raise Http404("No such token")
        services.api_token_revoke(token=token, actor=self.access.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
