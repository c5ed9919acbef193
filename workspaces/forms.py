"""Forms of the workspace pages: they validate input shape; services decide the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model, QuerySet

from workspaces.models import FUNCTION_SCOPED_ROLES, Role, RoleGrant
from workspaces.services import MAX_ROW_ID, GrantSpec

SCOPE_ALL = "all"
SCOPE_SUBSET = "subset"
SCOPE_CHOICES = [(SCOPE_ALL, "All functions"), (SCOPE_SUBSET, "Only selected functions")]

# Field-name stem of each function-scoped role, in a stable order for rendering.
SCOPED_ROLES: list[str] = [Role.FUNCTIONS_ADMIN, Role.FUNCTIONS_READONLY]


def _scope_field(role: str) -> str:
    return f"{role}_scope"


def _functions_field(role: str) -> str:
    return f"{role}_functions"


class FunctionChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids no database row can have before querying (huge ones overflow drivers)."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not str(pk).isdigit() or not 0 < int(str(pk)) <= MAX_ROW_ID:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                    params={"pk": pk},
                )  # fmt: skip
        return super()._check_values(value)  # type: ignore[misc]  # Django's, not in the stubs


class RolesForm(forms.Form):
    """Roles of a member; Functions Admin / Read-only may cover all functions or a subset.
    ``functions`` are the choices for a subset (``selectors.grantable_function_list``)."""

    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, functions: QuerySet[Model], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role in SCOPED_ROLES:
            self.fields[_scope_field(role)] = forms.ChoiceField(
                choices=SCOPE_CHOICES,
                initial=SCOPE_ALL,
                widget=forms.RadioSelect,
                required=False,
                label=f"{Role(role).label} covers",
            )
            self.fields[_functions_field(role)] = FunctionChoiceField(
                queryset=functions,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
                label="Functions",
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for role in SCOPED_ROLES:
            wants_subset = cleaned.get(_scope_field(role)) == SCOPE_SUBSET
            chosen = cleaned.get(_functions_field(role))
            if role in cleaned.get("roles", []) and wants_subset and not chosen:
                self.add_error(_functions_field(role), "Choose at least one function.")
        return cleaned

    def scoped_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(role label, scope field, functions field) for the template."""
        return [
            (Role(role).label, self[_scope_field(role)], self[_functions_field(role)])
            for role in SCOPED_ROLES
        ]

    def grants(self) -> list[GrantSpec]:
        specs = []
        for role in self.cleaned_data["roles"]:
            subset = (
                role in FUNCTION_SCOPED_ROLES
                and self.cleaned_data.get(_scope_field(role)) == SCOPE_SUBSET
            )
            ids = (
                frozenset(f.pk for f in self.cleaned_data[_functions_field(role)])
                if subset
                else frozenset()
            )
            specs.append(GrantSpec(role=role, all_functions=not subset, function_ids=ids))
        return specs


def roles_initial(grants: list[RoleGrant]) -> dict[str, Any]:
    """Initial data of a RolesForm from a member's current grants."""
    initial: dict[str, Any] = {"roles": [g.role for g in grants]}
    for grant in grants:
        if grant.role in FUNCTION_SCOPED_ROLES:
            initial[_scope_field(grant.role)] = SCOPE_ALL if grant.all_functions else SCOPE_SUBSET
            initial[_functions_field(grant.role)] = [f.pk for f in grant.functions.all()]
    return initial


class InviteForm(RolesForm):
    """The roles an invitation offers. Deliberately no user name: an invitation is a link
    for the owner to hand over, and the answer is the same whoever it is meant for."""

    note = forms.CharField(
        max_length=100,
        required=False,
        label="Note",
        help_text="Only for you, to recognise the invitation in the list (e.g. who it is for).",
    )

    field_order = ["note", "roles"]


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "CI"}))
