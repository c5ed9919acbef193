"""Forms of the editor page: shape checks only; the services enforce the rules."""

from __future__ import annotations

import json
from typing import Any

from django import forms


class FunctionSaveForm(forms.Form):
    """The editor's Save: code plus the settings schema as JSON (the builder UI comes later)."""

    code = forms.CharField(strip=False, widget=forms.Textarea(attrs={"spellcheck": "false"}))
    settings_schema = forms.CharField(
        required=False,
        strip=False,
        label="Settings schema (JSON)",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="A list of {label, type, description, required, encrypted}. "
        "Leave empty to keep the current settings.",
    )

    def clean_settings_schema(self) -> Any:
        raw = self.cleaned_data["settings_schema"]
        if not raw.strip():
            return None  # unchanged; "[]" removes every setting
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
