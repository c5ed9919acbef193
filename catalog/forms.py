"""Forms of the catalog pages: shape checks only; the services enforce the rules."""

from __future__ import annotations

from django import forms


class SourceCreateForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "Website"}))
