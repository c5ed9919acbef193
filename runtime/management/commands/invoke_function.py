"""python manage.py invoke_function HANDLER.js --event EVENT.json [--settings SETTINGS.json]

Runs a function once, the way a delivery would, and prints one JSON object:
outcome, error, result, logs, requests and duration_ms. Exits 0 whatever the
outcome; 2 for usage errors (missing file, invalid JSON). "-" reads standard input.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runtime.services import function_invoke_sync

# What a terminal could act on or show reordered, if printed as it is (C1 controls,
# bidirectional overrides and isolates, line and paragraph separators; json.dumps
# already escapes C0 controls): printed as \u escapes, so the output stays the same
# JSON. The runtime escapes logs and errors by the same rule (js/host/invocations.js);
# results and traces are data, and are escaped here, where they are shown.
_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _terminal_safe(text: str) -> str:
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


USAGE_ERROR = 2


def _read(path: str, what: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{what} file not found: {path}", returncode=USAGE_ERROR) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(
            f"cannot read {what} file {path}: {exc}", returncode=USAGE_ERROR
        ) from exc


def _read_json(path: str, what: str) -> Any:
    text = _read(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        name = "standard input" if path == "-" else path
        raise CommandError(
            f"{what} is not valid JSON ({name}, line {exc.lineno} column {exc.colno}): {exc.msg}",
            returncode=USAGE_ERROR,
        ) from exc


class Command(BaseCommand):
    help = "Run a destination function's handler on an event (or a batch) and print the result."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("handler", help="the function's JavaScript file, or - for stdin")
        parser.add_argument(
            "--event", required=True, help="event JSON file (an array calls onBatch), or -"
        )
        # Replaces Django's own --settings (the settings module) for this command;
        # see runtime/cli.py for how manage.py keeps Django from pre-parsing it.
        parser.add_argument(
            "--settings",
            "--settings-json",
            dest="settings_file",
            help="settings JSON file (an object), or -",
        )
        parser.set_defaults(settings=None)
        parser.add_argument("--timeout-ms", type=int, default=None, help="time limit")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = [options["handler"], options["event"], options["settings_file"]]
        if sources.count("-") > 1:
            raise CommandError(
                "only one of the inputs can be read from standard input", returncode=USAGE_ERROR
            )
        code = _read(options["handler"], "handler")
        event = _read_json(options["event"], "event")
        settings: Any = {}
        if options["settings_file"]:
            settings = _read_json(options["settings_file"], "settings")
        if not isinstance(event, dict | list):
            raise CommandError("the event must be a JSON object or array", returncode=USAGE_ERROR)
        if not isinstance(settings, dict):
            raise CommandError("the settings must be a JSON object", returncode=USAGE_ERROR)
        digest = hashlib.sha256(code.encode()).hexdigest()[:16]
        result = function_invoke_sync(
            code=code,
            settings=settings,
            payload=event,
            function_id=f"cli:{options['handler']}",
            version_id=digest,
            timeout_ms=options["timeout_ms"],
        )
        # Strict JSON (allow_nan=False): the runtime never gives a non-finite number,
        # and this would refuse one rather than print Infinity.
        text = _terminal_safe(json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False))
        try:
            self.stdout.write(text)
        except UnicodeEncodeError:
            # A standard output that cannot take some character (a non-UTF-8 locale):
            # the same object, with \u escapes.
            self.stdout.write(json.dumps(result.to_dict(), allow_nan=False))
