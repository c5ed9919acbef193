"""Playwright against Debian's Chromium (no downloaded browsers), one browser per module."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Module scope, not session: Playwright's sync API holds an event loop on the main thread
# while it runs, which would break the asyncio tests collected after this directory.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # A missing browser fails loudly: a skip would hide that the UI went untested.
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: run `make browser`"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread; the ORM calls a test
    # makes between browser steps are ordinary blocking calls, so Django's async guard must
    # stand aside, but only while the browser runs: other tests keep the guard.
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as p:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def collected_static() -> Iterator[None]:
    """Serve /static/ from the collected, content-hashed files (WhiteNoise, as in
    production): the live server's own static handler looks files up by their source
    names and would answer 404 to every hashed name the templates link to. Run
    `make build-frontend` (bundle + collectstatic) before the browser tests."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    assert manifest.exists(), "static files are not collected: run `make build-frontend`"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(StaticFilesHandler, "_should_handle", lambda self, path: False)
        yield


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    # Leave the page first, so that no request of it is still being answered when the
    # test database is flushed (a live-server thread holding the shared in-memory
    # database once made the flush fail with "database table is locked").
    with contextlib.suppress(Exception):
        page.goto("about:blank")  # type: ignore[attr-defined]
    context.close()
    time.sleep(0.2)  # the server threads finish what they had started


@pytest.fixture
def no_page_errors(page: Any) -> Iterator[None]:
    """Any uncaught error in the page's JavaScript fails the test (``usefixtures``)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert not errors, errors
