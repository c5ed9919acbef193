from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from functions_ide.demo import demo_curl_line, demo_echo_url

# The management command of a delivery worker (serve starts ``--workers`` of them).
WORKER_COMMAND = ["deliver"]
LISTEN_BACKLOG = 1024
MULTIPLE_WEB_PROCESSES_NEED_REDIS = (
    "--web-processes above 1 needs REDIS_URL: websocket groups (the editor's banners, live "
    "tails) and the cache (sign-in throttling) are per process without Redis."
)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def listening_socket(*, host: str, port: int) -> socket.socket:
    """The server's socket, bound here and shared by its web processes (``daphne --fd``):
    the kernel hands each new connection to one of them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as exc:
        listener.close()
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
    listener.listen(LISTEN_BACKLOG)
    listener.set_inheritable(True)
    return listener


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
            help="serve web and websockets only, without delivery workers",
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="delivery worker processes (default 1)"
        )
        parser.add_argument(
            "--web-processes",
            type=int,
            default=1,
            help="web server processes sharing the port (default 1; more need REDIS_URL)",
        )

    def _started(self, *, host: str, port: int, curl: str | None) -> None:
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ (Ctrl-C stops)"))
        if curl is not None:
            self.stdout.write(
                "Send the demo source an event (then see Sources -> Debugger, and Function Logs):"
            )
            self.stdout.write(f"  {curl}")

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        no_workers: bool,
        workers: int,
        web_processes: int,
        **options: Any,
    ) -> None:
        if workers < 0 or web_processes < 1:
            raise CommandError("--workers must be 0 or more and --web-processes 1 or more.")
        if web_processes > 1 and not settings.REDIS_URL:
            raise CommandError(MULTIPLE_WEB_PROCESSES_NEED_REDIS)
        listener = listening_socket(host=host, port=port)
        web = [sys.executable, "-m", "daphne", "--fd", str(listener.fileno())]
        web += ["functions_ide.asgi:application"]
        worker = [sys.executable, "manage.py", *WORKER_COMMAND]
        # (command, the descriptors it inherits): the socket goes to the web processes only.
        commands: list[tuple[list[str], tuple[int, ...]]] = [(web, (listener.fileno(),))]
        commands *= web_processes
        commands += [(worker, ())] * (0 if no_workers else workers)
        # SIGTERM (systemd, `docker stop`) stops everything, as Ctrl-C does: otherwise
        # serve would end alone and leave its children running.
        signal.signal(signal.SIGTERM, _interrupt)
        env = children_environment(host=host, port=port)
        # Looked up before the children start: from then on a SIGTERM must meet the try
        # below, which stops them.
        curl = demo_curl_line(host=host, port=port)
        processes = [subprocess.Popen(command, env=env, pass_fds=fds) for command, fds in commands]
        listener.close()  # the web processes have it
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
