from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from functions_ide.demo import demo_workspace_seed


class Command(BaseCommand):
    help = "Create the demo workspace with one user per role (prints the logins once)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = demo_workspace_seed()
        if logins is None:
            self.stdout.write("Demo workspace exists; its logins were printed when it was created.")
            return
        self.stdout.write(self.style.SUCCESS("Demo workspace created. Logins (shown only now):"))
        for login in logins:
            roles = ", ".join(login.roles)
            self.stdout.write(f"  {login.username:<28} {login.password:<16} {roles}")
