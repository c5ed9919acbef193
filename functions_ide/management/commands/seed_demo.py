from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from functions_ide.demo import demo_echo_url, demo_workspace_seed


class Command(BaseCommand):
    help = (
        "Create the demo workspace with one user per role (prints the logins once) and a "
        "destination posting to the echo endpoint of the server at --host/--port."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Those `serve` is started with: the demo destination posts to that server.
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        logins = demo_workspace_seed(echo_url=demo_echo_url(host=host, port=port))
        if logins is None:
            self.stdout.write("Demo workspace exists; its logins were printed when it was created.")
            return
        self.stdout.write(self.style.SUCCESS("Demo workspace created. Logins (shown only now):"))
        for login in logins:
            roles = ", ".join(login.roles)
            self.stdout.write(f"  {login.username:<28} {login.password:<16} {roles}")
