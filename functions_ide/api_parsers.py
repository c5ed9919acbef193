from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from catalog.settings_schema import JSON_TOO_DEEP, json_depth_check


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than MAX_JSON_DEPTH with a 400
    that names the field, before any view or serializer walks them. (Past ~1000 levels
    Python's decoder itself gives up with RecursionError, not ValueError.)"""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ValidationError({"non_field_errors": [JSON_TOO_DEEP]}) from exc
        try:
            if isinstance(data, dict):
                for key, value in data.items():
                    json_depth_check(value, field=str(key), depth=1)
            else:
                json_depth_check(data, field="non_field_errors")
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return data
