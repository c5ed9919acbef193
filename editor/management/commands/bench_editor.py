"""python manage.py bench_editor (make bench): the browser IDE, measured in a real Chromium
against the real server (`manage.py serve`, Daphne) on loopback.

Prints the editor page's time until Monaco accepts input (cold and warm browser cache),
what the page transfers (compressed, cold), and Run-to-outcome of a trivial function over
the Test panel's websocket (p50 / p99). Not a test: figures, each beside its target.
The server runs on a database of its own in a temporary folder, never on var/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from functions_ide.loopback_serve import free_port, serving
from runtime.management.commands.bench_runtime import cpu_model, percentile

RUN_P50_TARGET_MS = 150.0
USERNAME = "bench-owner"
PASSWORD = "bench-password-not-secret"
TRIVIAL_CODE = "async function onTrack(event, settings) {\n  return event.event;\n}\n"
SEED = f"""
from django.contrib.auth import get_user_model
from catalog.services import function_create
from workspaces.services import workspace_create
user = get_user_model().objects.create_user(username={USERNAME!r}, password={PASSWORD!r})
workspace = workspace_create(name="Bench", owner=user)
function = function_create(workspace=workspace, name="Trivial", actor=user, code={TRIVIAL_CODE!r})
print(workspace.slug, function.pk)
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# Runs the Test panel `count` times inside the page and returns each Run-to-outcome in ms.
RUN_LOOP_JS = """async (count) => {
  const run = document.querySelector('#tp-run');
  const outcome = document.querySelector('#tp-outcome');
  const times = [];
  for (let i = 0; i < count; i++) {
    outcome.textContent = '';
    const started = performance.now();
    const done = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (/success/i.test(outcome.textContent)) { observer.disconnect(); resolve(); }
      });
      observer.observe(outcome, { childList: true, subtree: true, characterData: true });
    });
    run.click();
    await done;
    times.push(performance.now() - started);
  }
  return times;
}"""


class Command(BaseCommand):
    help = "Benchmark the browser IDE against a real server on loopback (not a test)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=50)

    def line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<44} {value}")

    def handle(self, *args: Any, runs: int, **options: Any) -> None:
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        if not Path(chromium).exists():
            raise CommandError(f"Chromium not found at {chromium}: run `make browser`")
        with tempfile.TemporaryDirectory() as folder:
            env = os.environ | {
                "SQLITE_PATH": str(Path(folder) / "bench.sqlite3"),
                # The bench runs more tests per minute than a person may.
                "FUNCTIONS_TEST_RUNS_PER_MINUTE": str(max(1000, runs * 4)),
            }
            env.pop("DATABASE_URL", None)
            manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
            subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
            seeded = subprocess.run(
                [*manage, "shell", "-c", SEED], env=env, check=True, capture_output=True, text=True
            )
            slug, function_id = seeded.stdout.split()[-2:]
            port = free_port()
            with serving(env, port):
                base = f"http://127.0.0.1:{port}"
                self.measure(chromium, base, f"{base}/w/{slug}/functions/{function_id}/", runs)

    def measure(self, chromium: str, base: str, editor_url: str, runs: int) -> None:
        from playwright.sync_api import sync_playwright

        self.stdout.write("Browser IDE benchmark (Chromium against manage.py serve on loopback)")
        self.line("CPU", f"{cpu_model()} ({os.cpu_count()} cores)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{base}/login/")
                page.fill("#id_username", USERNAME)
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/w/**")

                transferred: list[int] = []

                def count(request: Any) -> None:
                    sizes = request.sizes()
                    transferred.append(sizes["responseBodySize"] + sizes["responseHeadersSize"])

                page.on("requestfinished", count)
                cold = self.time_to_input(page, editor_url)
                page.remove_listener("requestfinished", count)
                warm = self.time_to_input(page, editor_url)
                self.stdout.write("Editor page:")
                self.line("time until Monaco accepts input, cold", f"{cold:.0f} ms")
                self.line("time until Monaco accepts input, warm", f"{warm:.0f} ms")
                self.line(
                    "transferred (compressed), cold",
                    f"{sum(transferred) / 1024:,.0f} KB in {len(transferred)} requests",
                )
                self.run_to_outcome(page, runs)
            finally:
                browser.close()

    def time_to_input(self, page: Any, url: str) -> float:
        """Milliseconds from navigation start until typed text shows in the code editor."""
        page.goto(url, wait_until="commit")
        page.wait_for_selector(".monaco-editor .view-lines")
        page.click(".monaco-editor .view-lines")
        page.keyboard.press("Control+End")
        page.keyboard.insert_text("//ready")
        page.wait_for_function(
            "document.querySelector('.monaco-editor .view-lines').textContent.includes('//ready')"
        )
        elapsed = float(page.evaluate("performance.now()"))
        # Leave nothing unsaved behind: the next navigation must not ask.
        page.keyboard.press("Control+z")
        return elapsed

    def run_to_outcome(self, page: Any, runs: int) -> None:
        page.get_by_role("tab", name="Test").click()
        page.wait_for_selector("#tp-run:not([disabled])")
        page.evaluate(RUN_LOOP_JS, 3)  # warm the worker, the socket and the page's code
        times = page.evaluate(RUN_LOOP_JS, runs)
        self.stdout.write(f"Test panel, trivial function, {runs} runs over the websocket:")
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        self.line(
            "Run-to-outcome p50 / p99",
            f"{p50:.1f} ms / {p99:.1f} ms (target p50 < {RUN_P50_TARGET_MS:.0f} ms)",
        )
