"""python manage.py invoke_function: output shape, outcomes, stdin, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from runtime.services import function_invoke_sync

ROOT = Path(__file__).resolve().parents[2]

HANDLER = """
async function onTrack(event, settings) {
  console.log('tracking', event.event);
  return {event: event.event, key: settings.apiKey};
}
async function onBatch(events) { return events.map(e => ({status: 200})) }
async function onIdentify() { throw new RetryError('try later') }
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "handler.js").write_text(HANDLER)
    (tmp_path / "event.json").write_text(json.dumps({"type": "track", "event": "Order"}))
    (tmp_path / "batch.json").write_text(json.dumps([{"type": "track"}, {"type": "track"}]))
    (tmp_path / "identify.json").write_text(json.dumps({"type": "identify"}))
    (tmp_path / "settings.json").write_text(json.dumps({"apiKey": "abc"}))
    (tmp_path / "broken.json").write_text('{"type": ')
    return tmp_path


def invoke(*args: str) -> dict:
    out = StringIO()
    call_command("invoke_function", *args, stdout=out)
    return json.loads(out.getvalue())


def test_prints_one_json_object_with_the_documented_keys(files):
    d = invoke(str(files / "handler.js"), "--event", str(files / "event.json"),
               "--settings", str(files / "settings.json"))  # fmt: skip
    assert d["outcome"] == "success" and d["error"] is None
    assert d["result"] == {"event": "Order", "key": "abc"}
    assert d["logs"] == [{"level": "log", "message": "tracking Order"}]
    assert d["requests"] == [] and d["duration_ms"] > 0


def test_an_array_calls_on_batch(files):
    d = invoke(str(files / "handler.js"), "--event", str(files / "batch.json"))
    assert d["result"] == [{"status": 200}, {"status": 200}]


def test_a_failing_outcome_is_still_printed(files):
    d = invoke(str(files / "handler.js"), "--event", str(files / "identify.json"))
    assert d["outcome"] == "retry"
    # HANDLER's line 7: `async function onIdentify() { throw new RetryError('try later') }`
    assert d["error"] == {"type": "RetryError", "message": "try later", "line": 7, "column": 37}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.js", "--event", "event.json"], "handler file not found"),
        (["handler.js", "--event", "nope.json"], "event file not found"),
        (["handler.js", "--event", "broken.json"], "event is not valid JSON"),
        (
            ["handler.js", "--event", "event.json", "--settings", "batch.json"],
            "must be a JSON object",
        ),
        (["-", "--event", "-"], "only one of the inputs"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(files, args, message):
    resolved = [str(files / a) if a.endswith((".js", ".json")) else a for a in args]
    with pytest.raises(CommandError, match=message) as info:
        call_command("invoke_function", *resolved)
    assert info.value.returncode == 2


def test_the_command_line_reads_stdin_and_exits_0_whatever_the_outcome(files):
    proc = subprocess.run(
        [sys.executable, "manage.py", "invoke_function", str(files / "handler.js"),
         "--event", "-"],
        input=json.dumps({"type": "identify"}), capture_output=True, text=True, cwd=ROOT,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "retry"


def test_the_command_line_exits_2_on_invalid_json(files):
    proc = subprocess.run(
        [sys.executable, "manage.py", "invoke_function", str(files / "handler.js"),
         "--event", str(files / "broken.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and proc.stdout == ""


def test_the_sync_wrapper_runs_on_its_own_loop_and_stops_its_workers():
    r = function_invoke_sync(
        code="function onTrack(e, s) { return s.x + 1 }",
        settings={"x": 1},
        payload={"type": "track"},
        function_id="fn_sync",
        version_id="1",
    )
    assert (r.outcome, r.result) == ("success", 2)


def test_rewrite_argv_renames_only_invoke_functions_settings_option():
    from runtime.cli import rewrite_argv

    argv = ["manage.py", "invoke_function", "h.js", "--event", "e.json", "--settings", "s.json"]
    assert rewrite_argv(argv)[-2:] == ["--settings-json", "s.json"]
    assert (
        rewrite_argv(["m", "invoke_function", "--settings=s.json"])[-1] == "--settings-json=s.json"
    )
    assert rewrite_argv(["m", "migrate", "--settings", "x"]) == ["m", "migrate", "--settings", "x"]


def test_the_settings_json_option_works_on_the_command_line(files):
    # Through the same entry point as manage.py, with its argv rewrite (runtime/cli.py).
    driver = (
        "import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'functions_ide.settings');"
        "from runtime.cli import rewrite_argv;"
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(rewrite_argv(['manage.py', *sys.argv[1:]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver, "invoke_function", str(files / "handler.js"),
         "--event", str(files / "event.json"), "--settings", str(files / "settings.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == {"event": "Order", "key": "abc"}


@pytest.mark.skipif(
    "runtime.cli" not in (ROOT / "manage.py").read_text(),
    reason="manage.py does not pass its argv through runtime.cli.rewrite_argv yet",
)
def test_manage_py_accepts_the_settings_option(files):
    proc = subprocess.run(
        [sys.executable, "manage.py", "invoke_function", str(files / "handler.js"),
         "--event", str(files / "event.json"), "--settings", str(files / "settings.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == {"event": "Order", "key": "abc"}


LONE_SURROGATES = r"""
async function onTrack(event) {
  console.log('lone: \ud800 end');
  if (event.fail) throw new Error('bad \udfff');
  return {s: '\udfff', pair: '\ud83d\ude00', seen: event.x.charCodeAt(0).toString(16)};
}
"""


@pytest.mark.parametrize("fail", [False, True])
def test_lone_surrogates_from_the_function_never_break_the_output(tmp_path, fail):
    (tmp_path / "h.js").write_text(LONE_SURROGATES)
    # An event holding a lone surrogate itself ("\ud800" in JSON) reaches the function.
    event = '{"type": "track", "x": "\\udc00", "fail": ' + json.dumps(fail) + "}"
    (tmp_path / "e.json").write_text(event)
    proc = subprocess.run(
        [sys.executable, "manage.py", "invoke_function", str(tmp_path / "h.js"),
         "--event", str(tmp_path / "e.json")],
        capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout.decode("utf-8"))  # strict: one valid UTF-8 JSON object
    assert d["logs"] == [{"level": "log", "message": "lone: \ufffd end"}]
    if fail:
        assert (d["outcome"], d["error"]["message"]) == ("bad_request", "bad \ufffd")
    else:
        assert d["result"] == {"s": "\ufffd", "pair": "\U0001f600", "seen": "dc00"}


def test_what_a_terminal_would_act_on_is_printed_escaped(tmp_path):
    (tmp_path / "handler.js").write_text(
        "async function onTrack() { return 'a\\u202eb\\u009dc\\u2028d\\u001be' }"
    )
    (tmp_path / "event.json").write_text(json.dumps({"type": "track", "event": "x"}))
    out = StringIO()
    call_command(
        "invoke_function", str(tmp_path / "handler.js"), "--event", str(tmp_path / "event.json"),
        stdout=out,
    )  # fmt: skip
    printed = out.getvalue()
    for raw in ("\u202e", "\x9d", "\u2028", "\x1b"):
        assert raw not in printed
    assert json.loads(printed)["result"] == "a\u202eb\x9dc\u2028d\x1be"
