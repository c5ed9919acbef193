from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from functions_ide.demo import demo_curl_line, demo_echo_url

# Management commands that run beside the web server: one delivery worker.
BACKGROUND_COMMANDS: list[list[str]] = [["deliver"]]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def children_environment(*, host: str, port: int) -> dict[str, str]:
    """The environment of serve's children: functions may reach this server's demo echo
    endpoint, that one URL only (runtime/egress.py), besides what the operator allowed."""
    allowed = [*settings.FUNCTIONS_EGRESS_ALLOWED_URLS, demo_echo_url(host=host, port=port)]
    return {**os.environ, "FUNCTIONS_EGRESS_ALLOWED_URLS": ",".join(allowed)}


class Command(BaseCommand):
    help = (
        "Serve web and websockets with Daphne plus the background workers, until Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-workers",
            action="store_true",
            help="serve web and websockets only, without the delivery worker",
        )

    def _started(self, *, host: str, port: int, curl: str | None) -> None:
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ (Ctrl-C stops)"))
        if curl is not None:
            self.stdout.write(
                "Send the demo source an event (then see Sources -> Debugger, and Function Logs):"
            )
            self.stdout.write(f"  {curl}")

    def handle(self, *args: Any, host: str, port: int, no_workers: bool, **options: Any) -> None:
        web = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port)]
        background = [] if no_workers else BACKGROUND_COMMANDS
        commands = [
            [*web, "functions_ide.asgi:application"],
            *([sys.executable, "manage.py", *command] for command in background),
        ]
        # SIGTERM (systemd, `docker stop`) stops everything, as Ctrl-C does: otherwise
        # serve would end alone and leave its children running.
        signal.signal(signal.SIGTERM, _interrupt)
        env = children_environment(host=host, port=port)
        # Looked up before the children start: from then on a SIGTERM must meet the try
        # below, which stops them.
        curl = demo_curl_line(host=host, port=port)
        processes = [subprocess.Popen(command, env=env) for command in commands]
        try:
            self._started(host=host, port=port, curl=curl)
            # Any child exiting stops everything: a half-running platform is worse than none.
            while all(p.poll() is None for p in processes):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    processes[0].wait(timeout=1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=10)
