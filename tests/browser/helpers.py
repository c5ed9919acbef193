"""What the browser tests share: signing in, serving the collected static files, and
driving the Monaco editor of the function editor page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    expect(page.locator(".username")).to_have_text(username)


def wait_for_editor(page: Page) -> None:
    """The editor page has built Monaco and its panels."""
    page.wait_for_selector("html[data-editor-ready]")
    page.wait_for_selector("#code-editor .monaco-editor .view-lines")


def editor_code(page: Page) -> str:
    return page.evaluate("() => window.fnideEditor.draft.getCode()")


def replace_code(page: Page, code: str) -> None:
    """Select all in Monaco and paste `code` (as the user's clipboard would: no auto-closed
    brackets or auto-indent, which `keyboard.insert_text` gets as typing); the cursor ends
    after it."""
    page.click("#code-editor .view-lines")
    page.keyboard.press("Control+a")
    page.evaluate(
        "(text) => window.fnideEditor.editor.trigger('keyboard', 'paste', { text })", code
    )


def markers(page: Page) -> list[dict[str, Any]]:
    """Monaco's problems (diagnostics) for the function's code."""
    return page.evaluate(
        """() => {
          const { monaco, editor } = window.fnideEditor;
          return monaco.editor.getModelMarkers({ resource: editor.getModel().uri })
            .map((m) => ({ message: m.message, line: m.startLineNumber, severity: m.severity }));
        }"""
    )


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
