"""The function editor in a real Chromium: building from a template, IntelliSense that knows
the runtime and the function's own settings, the settings builder's live preview, saving
with Ctrl+S, a refused save based on an outdated version, and read-only members."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.function_templates import template_get
from catalog.models import Function
from catalog.services import function_update
from catalog.settings_schema import setting_name_from_label
from tests.browser.helpers import (
    editor_code,
    markers,
    replace_code,
    screenshot,
    sign_in,
    wait_for_editor,
)
from tests.conftest import SECRET_API_KEY, build_world

pytestmark = pytest.mark.browser
TYPED_CODE = """/**
 * @param {SpecTrack} event
 * @param {FunctionSettings} settings
 */
async function onTrack(event, settings) {
  const response = await fetch('https://example.com', { method: 'POST' });
  console.log(response.status, event.properties);
  return settings"""


def editor_url(base_url: str, function: Function) -> str:
    return f"{base_url}/w/acme/functions/{function.pk}/"


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


def test_build_from_a_template_configure_and_create(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    build_world()
    template = template_get("hmac-webhook")
    assert template is not None
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server.url, "sally")
    page.goto(f"{live_server.url}/w/acme/catalog/")
    page.click("text=New Function")
    page.click("text=Destination Function")
    expect(page).to_have_url(f"{live_server.url}/w/acme/functions/new/build/")
    gallery = page.locator("#template-gallery")
    expect(gallery.locator(".template-card").first).to_contain_text("Default")
    screenshot(page, "gallery-1280x800")

    before = Function.objects.count()
    gallery.locator(f"[data-template='{template.slug}']").get_by_role("link", name="Build").click()
    wait_for_editor(page)
    expect(page.locator("#function-name")).to_have_text("New function")
    assert editor_code(page) == template.code
    names = [s["name"] for s in template.settings_schema]
    for name in names:
        expect(page.locator(f"#setting-list [data-setting='{name}']")).to_be_visible()
    assert Function.objects.count() == before  # nothing is written before Create
    no_horizontal_scroll(page)
    screenshot(page, "new-function-1280x800")

    page.click("#configure-button")
    dialog = page.locator("#configure-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#configure-name")).to_be_focused()
    page.click("#create-button")
    expect(page.locator("#configure-name-error")).to_have_text("A name is required.")
    page.fill("#configure-name", "Signed Hook")
    page.fill("#configure-description", "Built from the gallery")
    screenshot(page, "configure-dialog")
    page.click("#create-button")

    page.wait_for_url(re.compile(r".*/w/acme/functions/\d+/$"))
    function = Function.objects.get(name="Signed Hook")
    assert page.url == editor_url(live_server.url, function)
    assert function.code == template.code
    assert function.description == "Built from the gallery"
    assert function.settings_schema == template.settings_schema
    wait_for_editor(page)
    expect(page.locator(".toasts")).to_contain_text("Created the function Signed Hook.")
    expect(page.locator("#version-badge")).to_have_text("v1")

    page.click("nav >> text=Catalog")
    expect(page.locator("#functions-table")).to_contain_text("Signed Hook")


def test_settings_builder_preview_follows_every_keystroke(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    sign_in(page, live_server.url, "olivia")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    page.click("#add-setting-button")
    expect(page.locator("#setting-dialog")).to_be_visible()
    expect(page.locator("#setting-label")).to_be_focused()
    preview = page.locator("#setting-preview")

    typed = ""
    for char in "2 Webhook Secret":
        page.keyboard.type(char)
        typed += char
        expect(page.locator("#setting-name")).to_have_value(setting_name_from_label(typed))
        expect(preview.locator(".setting-label-text")).to_have_text(
            typed.strip() or "Untitled setting"
        )
    assert setting_name_from_label(typed) == "webhookSecret"

    page.fill("#setting-description", "Signs every request")
    expect(preview.locator(".help")).to_have_text("Signs every request")
    page.check("#setting-required")
    expect(preview.locator(".required-mark")).to_be_visible()
    page.check("#setting-encrypted")
    expect(preview.locator("input[type=password]")).to_be_visible()
    screenshot(page, "setting-dialog")
    # The preview validates as an instance's configuration page would.
    preview.locator("input").focus()
    preview.locator("input").blur()
    expect(preview.locator(".field-error")).to_have_text("This setting is required.")

    page.select_option("#setting-type", "array")
    expect(page.locator("#setting-encrypted")).to_be_disabled()
    expect(preview.locator(".list-editor input")).to_have_count(1)
    page.select_option("#setting-type", "string")
    page.check("#setting-encrypted")

    # Invalid names are explained next to the field; a taken name too.
    page.fill("#setting-name", "2bad")
    expect(page.locator("#setting-name-error")).to_contain_text("starting with a letter")
    page.fill("#setting-name", "region")
    expect(page.locator("#setting-name-error")).to_contain_text("already named")
    page.fill("#setting-name", "")
    page.click("#setting-save-button")
    expect(page.locator("#setting-dialog")).to_be_hidden()
    item = page.locator("#setting-list [data-setting='webhookSecret']")
    expect(item).to_contain_text("Webhook Secret")
    expect(item).to_contain_text("Required")
    expect(item).to_contain_text("Encrypted")
    expect(page.locator("#dirty-mark")).to_be_visible()
    assert page.title().startswith("• Webhook")
    schema = page.evaluate("() => window.fnideEditor.draft.getSchema()")
    assert schema[-1] == {
        "label": "2 Webhook Secret",
        "name": "webhookSecret",
        "type": "string",
        "description": "Signs every request",
        "required": True,
        "encrypted": True,
    }


def test_completion_offers_a_setting_added_in_the_settings_tab(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    sign_in(page, live_server.url, "adam")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    page.click("#add-setting-button")
    page.keyboard.type("Signing Secret")
    page.fill("#setting-description", "The key HMACs are made with")
    page.focus("#setting-label")
    page.keyboard.press("Enter")  # Enter in a field adds the setting
    expect(page.locator("#setting-list [data-setting='signingSecret']")).to_be_visible()

    replace_code(page, TYPED_CODE)
    page.keyboard.type(".")
    suggest = page.locator(".suggest-widget")
    expect(suggest).to_contain_text("signingSecret", timeout=30_000)
    expect(suggest).to_contain_text("region")
    screenshot(page, "completion")
    page.keyboard.press("Escape")

    # The spec event type completes too.
    page.keyboard.insert_text(";\n  return event")
    page.keyboard.type(".")
    expect(suggest).to_contain_text("properties", timeout=30_000)
    page.keyboard.press("Escape")

    # Hovering a global shows its documentation.
    hover = page.evaluate(
        """() => {
          const { editor } = window.fnideEditor;
          const model = editor.getModel();
          const at = model.getPositionAt(model.getValue().indexOf('fetch(') + 2);
          editor.setPosition(at);
          editor.focus();
          editor.trigger('test', 'editor.action.showHover', {});
          return at.lineNumber;
        }"""
    )
    assert hover == 6
    hover_text = page.locator(".monaco-hover").filter(has_text="Make an HTTP request")
    expect(hover_text).to_be_visible(timeout=30_000)
    screenshot(page, "hover")


def test_unknown_globals_and_syntax_errors_are_underlined(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    sign_in(page, live_server.url, "olivia")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    replace_code(
        page,
        TYPED_CODE
        + ".region;\n}\n\nasync function onIdentify(event) {\n"
        + "  sendToCrm(event.traits);\n  const x = ;\n}\n",
    )
    expect(page.locator(".squiggly-error").first).to_be_visible(timeout=30_000)
    page.wait_for_function(
        "() => window.fnideEditor.monaco.editor.getModelMarkers({}).length >= 2", timeout=30_000
    )
    found = markers(page)
    messages = " | ".join(m["message"] for m in found)
    assert "Cannot find name 'sendToCrm'" in messages
    assert "Expression expected" in messages
    # The runtime's own globals, the spec event and the settings are known.
    for known in ("fetch", "console", "settings", "properties", "region"):
        assert f"'{known}'" not in messages, messages
    screenshot(page, "diagnostics")


def test_ctrl_s_saves_a_new_version(transactional_db: None, live_server: Any, page: Page) -> None:
    world = build_world()
    sign_in(page, live_server.url, "adam")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    page.keyboard.press("Control+s")  # nothing changed yet
    expect(page.locator(".toasts")).to_contain_text("Nothing changed")
    replace_code(page, "async function onTrack(event, settings) {\n  return event.event;\n}\n")
    expect(page.locator("#dirty-mark")).to_be_visible()
    assert page.title().startswith("• Webhook")
    page.keyboard.press("Control+s")
    expect(page.locator(".toasts")).to_contain_text("Saved version 2.")
    expect(page.locator("#version-badge")).to_have_text("v2")
    expect(page.locator("#dirty-mark")).to_be_hidden()
    assert not page.title().startswith("•")
    world.function.refresh_from_db()
    assert world.function.code.endswith("return event.event;\n}\n")
    assert world.function.versions.count() == 2
    assert len(world.function.settings_schema) == 2
    # Saving is never a browser "Save page" dialog, and a second save has nothing new.
    page.keyboard.press("Control+s")
    expect(page.locator(".toasts")).to_contain_text("Nothing changed")
    assert world.function.versions.count() == 2
    page.set_viewport_size({"width": 1920, "height": 1080})
    no_horizontal_scroll(page)
    screenshot(page, "editor-1920x1080")
    page.set_viewport_size({"width": 1280, "height": 800})
    no_horizontal_scroll(page)
    for control in ("#save-button", "#save-deploy-button", "#templates-button", "#delete-button"):
        expect(page.locator(control)).to_be_in_viewport()
    screenshot(page, "editor-1280x800")
    page.click("#theme-button")  # System -> Light
    page.click("#theme-button")  # Light -> Dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("#code-editor .monaco-editor")).to_have_class(re.compile("vs-dark"))
    screenshot(page, "editor-dark-1280x800")
    page.reload()
    wait_for_editor(page)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")  # remembered


def test_save_on_an_outdated_version_is_refused_with_a_banner(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    sign_in(page, live_server.url, "olivia")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    # adam saves version 2 while olivia's page still shows version 1 (in a thread of its
    # own: the save announces itself through async_to_sync, which Playwright's loop on
    # this thread would refuse).
    theirs = "async function onTrack() {\n  return 'adam';\n}\n"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            function_update, function=world.function, code=theirs, actor=world.users["adam"]
        ).result()
    mine = "async function onTrack() {\n  return 'olivia';\n}\n"
    replace_code(page, mine)
    page.keyboard.press("Control+s")
    banner = page.locator("#ide-banners .banner")
    expect(banner).to_contain_text("Version 2 was saved by adam since you opened version 1")
    expect(banner.get_by_role("button", name="Reload")).to_be_visible()
    screenshot(page, "conflict-banner")
    assert world.function.versions.count() == 2
    world.function.refresh_from_db()
    assert world.function.code == theirs
    assert editor_code(page) == mine  # the unsaved text is kept

    page.once("dialog", lambda dialog: dialog.accept())
    banner.get_by_role("button", name="Reload").click()
    expect(page.locator("#version-badge")).to_have_text("v2")
    assert editor_code(page) == theirs
    expect(page.locator("#ide-banners .banner")).to_have_count(0)
    replace_code(page, mine)
    page.keyboard.press("Control+s")
    expect(page.locator(".toasts")).to_contain_text("Saved version 3.")
    world.function.refresh_from_db()
    assert world.function.code == mine


def test_read_only_member_gets_a_read_only_editor(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    sign_in(page, live_server.url, "rita")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    expect(page.locator("#read-only-badge")).to_be_visible()
    for control in (
        "#save-button",
        "#save-deploy-button",
        "#delete-button",
        "#templates-button",
        "#add-setting-button",
    ):
        expect(page.locator(control)).to_have_count(0)
    expect(page.locator("#setting-list [data-setting='apiKey']")).to_be_visible()
    expect(page.locator("#setting-list button")).to_have_count(0)
    before = editor_code(page)
    page.click("#code-editor .view-lines")
    page.keyboard.type("zzz")
    page.keyboard.press("Control+s")
    assert editor_code(page) == before
    page.click("#tab-test")
    expect(page.locator("#panel-test")).to_be_visible()
    expect(
        page.locator("#panel-test").get_by_role("button", name=re.compile("^Run"))
    ).to_have_count(0)
    assert SECRET_API_KEY not in page.content()
    screenshot(page, "read-only")
    assert world.function.versions.count() == 1


def test_someone_elses_save_shows_a_banner_and_keeps_unsaved_text(
    transactional_db: None, asgi_live_server: str, browser: Any, page: Page
) -> None:
    # A real ASGI server: the events websocket needs one (live_server is WSGI).
    world = build_world()
    base = asgi_live_server
    sign_in(page, base, "olivia")
    page.goto(editor_url(base, world.function))
    wait_for_editor(page)
    page.wait_for_function("() => window.fnideEditor.events && window.fnideEditor.events.connected")
    mine = "async function onTrack() {\n  return 'olivia';\n}\n"
    replace_code(page, mine)

    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        adam = other.new_page()
        adam.set_default_timeout(10_000)
        sign_in(adam, base, "adam")
        adam.goto(editor_url(base, world.function))
        wait_for_editor(adam)
        adam.wait_for_function("() => window.fnideEditor.events.connected")
        replace_code(adam, "async function onTrack() {\n  return 'adam';\n}\n")
        adam.keyboard.press("Control+s")
        expect(adam.locator(".toasts")).to_contain_text("Saved version 2.")

        banner = page.locator("#ide-banners .banner")
        expect(banner).to_contain_text("Version 2 saved by adam.")
        expect(banner).to_contain_text("Your unsaved changes are kept")
        assert editor_code(page) == mine
        screenshot(page, "someone-else-saved")

        page.once("dialog", lambda dialog: dialog.accept())
        banner.get_by_role("button", name="Reload").click()
        expect(page.locator("#version-badge")).to_have_text("v2")
        replace_code(page, mine)
        page.keyboard.press("Control+s")
        expect(page.locator(".toasts")).to_contain_text("Saved version 3.")
        # adam hears of it; olivia's own save is no news to her.
        expect(adam.locator("#ide-banners .banner")).to_contain_text("Version 3 saved by olivia.")
        page.wait_for_timeout(2_000)
        expect(page.locator("#ide-banners .banner")).to_have_count(0)
    finally:
        other.close()


def leave_is_guarded(page: Page) -> bool:
    return page.evaluate(
        """() => {
          const event = new Event('beforeunload', { cancelable: true });
          window.dispatchEvent(event);
          return event.defaultPrevented;
        }"""
    )


def test_templates_menu_replaces_the_draft_and_leaving_asks_first(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    template = template_get("json-webhook")
    assert template is not None
    sign_in(page, live_server.url, "olivia")
    page.goto(editor_url(live_server.url, world.function))
    wait_for_editor(page)
    assert not leave_is_guarded(page)  # nothing unsaved

    page.click("#templates-button")
    dialog = page.locator("#templates-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(f"button[data-template='{template.slug}']").click()  # clean: no question
    expect(dialog).to_be_hidden()
    assert editor_code(page) == template.code
    for setting in template.settings_schema:
        expect(page.locator(f"#setting-list [data-setting='{setting['name']}']")).to_be_visible()
    expect(page.locator("#setting-list [data-setting='apiKey']")).to_have_count(0)
    expect(page.locator("#dirty-mark")).to_be_visible()
    assert leave_is_guarded(page)

    # Dirty now: choosing another template asks first; declining keeps the draft.
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    page.click("#templates-button")
    dialog.locator("button[data-template='default']").click()
    assert questions and "Replace the code and settings" in questions[0]
    assert editor_code(page) == template.code
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#templates-button")).to_be_focused()  # focus comes back
    assert world.function.versions.count() == 1  # nothing saved

    # A new, unsaved function asks before leaving even before any edit.
    page.goto(f"{live_server.url}/w/acme/functions/new/build/?template=default")
    wait_for_editor(page)
    assert leave_is_guarded(page)
