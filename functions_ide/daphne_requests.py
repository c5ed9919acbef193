"""Daphne's HTTP requests without Twisted's form parsing.

Twisted's ``Request`` parses every POST whose body is a form (URL-encoded or multipart)
into ``request.args``, and reads every POST's Content-Type with the ``email`` package
to find out: about a tenth of the web server's time under the Tracking API's load, for
nothing, since Daphne hands the raw body to the ASGI application (Django, the Tracking
API), which parses it itself, under its own limits. Twisted's multipart parsing has no
limits (a large upload is parsed whole in memory before Django's limits apply), so
turning it off also closes that door. ``parsePOSTFormSubmission`` is the public switch
of Twisted's ``Request``; Daphne's subclass passes its arguments on but never sets it.
"""

from __future__ import annotations

from typing import Any

from daphne.http_protocol import WebRequest

_daphne_init = WebRequest.__init__


def _without_form_parsing(self: WebRequest, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("parsePOSTFormSubmission", False)
    _daphne_init(self, *args, **kwargs)


def daphne_form_parsing_disable() -> None:
    """Once per process, before Daphne serves (idempotent)."""
    if WebRequest.__init__ is not _without_form_parsing:
        WebRequest.__init__ = _without_form_parsing  # type: ignore[method-assign]
