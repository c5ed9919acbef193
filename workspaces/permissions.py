"""What a member may do in a workspace, decided in one place for pages, API and websockets."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q

from workspaces.models import Role, Workspace

DELETE_FUNCTION_REFUSED = (
    "Deleting removes its live destinations too: that needs Functions Admin and Source Admin."
)
DELETE_SOURCE_REFUSED = (
    "Deleting removes destinations of functions you cannot deploy: that needs Functions Admin "
    "for them and Source Admin."
)

# None means "every function in the workspace".
FunctionScope = frozenset[int] | None


def _union(a: FunctionScope, b: FunctionScope) -> FunctionScope:
    if a is None or b is None:
        return None
    return a | b


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace: Workspace
    user: User  # the member: signed in, the actor of whatever the request changes
    roles: frozenset[str]
    admin_scope: FunctionScope
    readonly_scope: FunctionScope

    @property
    def user_id(self) -> int:
        return self.user.pk

    @property
    def is_owner(self) -> bool:
        return Role.OWNER in self.roles

    def has_role(self, role: Role) -> bool:
        return self.is_owner or role in self.roles

    # --- functions ------------------------------------------------------------------
    @property
    def view_scope(self) -> FunctionScope:
        if self.is_owner:
            return None
        scopes = []
        if Role.FUNCTIONS_ADMIN in self.roles:
            scopes.append(self.admin_scope)
        if Role.FUNCTIONS_READONLY in self.roles:
            scopes.append(self.readonly_scope)
        if not scopes:
            return frozenset()
        result = scopes[0]
        for scope in scopes[1:]:
            result = _union(result, scope)
        return result

    def visible_functions_q(self, prefix: str = "") -> Q:
        """A filter for querysets of functions (or of rows pointing at a function)."""
        scope = self.view_scope
        if scope is None:
            return Q()
        return Q(**{f"{prefix}id__in": sorted(scope)})

    def can_view_function(self, function_id: int) -> bool:
        scope = self.view_scope
        return scope is None or function_id in scope

    @property
    def can_view_any_function(self) -> bool:
        """Whether the member may see some function (or all): the usage page's link."""
        return self.view_scope is None or bool(self.view_scope)

    @property
    def can_create_function(self) -> bool:
        return self.has_role(Role.FUNCTIONS_ADMIN)

    def can_edit_function(self, function_id: int) -> bool:
        if self.is_owner:
            return True
        if Role.FUNCTIONS_ADMIN not in self.roles:
            return False
        return self.admin_scope is None or function_id in self.admin_scope

    def can_deploy_function(self, function_id: int) -> bool:
        """Connecting a function to a source or changing live instances needs both roles."""
        return self.can_edit_function(function_id) and self.has_role(Role.SOURCE_ADMIN)

    # --- sources, members, audit --------------------------------------------------------
    @property
    def can_view_sources(self) -> bool:
        return bool(self.roles)

    @property
    def can_manage_sources(self) -> bool:
        return self.has_role(Role.SOURCE_ADMIN)

    @property
    def can_manage_members(self) -> bool:
        return self.is_owner

    @property
    def can_view_members(self) -> bool:
        return self.is_owner

    @property
    def can_view_audit(self) -> bool:
        return self.has_role(Role.AUDITOR)
