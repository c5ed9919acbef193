"""The Audit Trail's filter form."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(required=False)
    target = forms.CharField(required=False, max_length=200)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = cast(forms.ChoiceField, self.fields["action"])
        action.choices = [("", "Any action")] + [(a, a) for a in actions]

    def filters(self) -> AuditFilters:
        """Filters from the fields that are valid; an invalid one is shown and ignored."""
        data = getattr(self, "cleaned_data", {})
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            target=data.get("target") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
