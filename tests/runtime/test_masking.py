"""Trace masking on its own (runtime/masking.py): what a trace shows, and that masking
takes time linear in the text whatever the secrets, off the event loop when costly.
No Node: the masker is driven directly (test_hardening.py has the end-to-end case).
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import time
import uuid
from typing import Any

import pytest

from runtime import masking
from runtime.masking import (
    FEW_SECRETS,
    MASK,
    MAX_TRACE_BODY_CHARS,
    MAX_TRACE_HEADER_CHARS,
    Masker,
    masked_trace,
    masker_for,
    secrets_from_settings,
)

# Enough secrets of no consequence to take the automaton's path rather than the
# one-by-one search.
FILLER = tuple(f"filler-{i:04d}-zz" for i in range(FEW_SECRETS + 1))


def reference(text: str, secrets: tuple[str, ...], keep: int | None = None) -> str:
    """Masking by brute force: every occurrence found, overlapping ones merged."""
    spans = sorted(
        (i, i + len(s)) for s in secrets if len(s) >= 6 for i in range(len(text))
        if text.startswith(s, i)
    )  # fmt: skip
    runs: list[list[int]] = []
    for start, stop in spans:
        if runs and start < runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], stop)
        else:
            runs.append([start, stop])
    end = len(text) if keep is None else min(keep, len(text))
    out: list[str] = []
    done = 0
    for start, stop in runs:
        if start >= end:
            break
        out += (text[done:start], MASK)
        done = stop
    out.append(text[done:end])
    return "".join(out)


@pytest.fixture(params=["few", "many"])
def path(request: pytest.FixtureRequest) -> str:
    return request.param


def make(secrets: tuple[str, ...], path: str) -> Masker:
    return Masker(secrets + FILLER if path == "many" else secrets)


def test_every_secret_is_masked_wherever_it_is(path: str) -> None:
    masker = make(("sk_live_123456", "token-abcdef"), path)
    text = "a=sk_live_123456&b=token-abcdef&c=sk_live_123456"
    assert masker.mask(text) == f"a={MASK}&b={MASK}&c={MASK}"
    assert masker.mask("nothing secret here") == "nothing secret here"


def test_overlapping_secrets_are_masked_as_one_span(path: str) -> None:
    """Searching each secret in turn (longest first) left half of the second one shown."""
    masker = make(("abcdef12", "ef12ghij", "12gh"), path)
    assert masker.mask("<abcdef12ghij>") == f"<{MASK}>"
    assert masker.mask("aaaaaaaa", keep=None) == "aaaaaaaa"
    assert make(("aaaaaa",), path).mask("xaaaaaaax") == f"x{MASK}x"


def test_both_paths_agree_with_brute_force() -> None:
    rng = random.Random(8)
    for _ in range(600):
        secrets = tuple(
            "".join(rng.choice("ab") for _ in range(rng.randint(6, 9)))
            for _ in range(rng.randint(1, 4))
        )
        text = "".join(rng.choice("abb") for _ in range(rng.randint(0, 70)))
        keep = rng.choice([None, 0, 3, 10, 40])
        expected = reference(text, secrets, keep)
        assert Masker(secrets).mask(text, keep) == expected, (secrets, text, keep)
        assert Masker(secrets + FILLER).mask(text, keep) == expected, (secrets, text, keep)


def test_a_secret_crossing_the_cut_is_masked_whole(path: str) -> None:
    secret = "crossing-the-cut-secret"
    masker = make((secret,), path)
    value = "x" * (MAX_TRACE_HEADER_CHARS - 5) + secret + "y" * 3000
    shown = masker.header("X-Note", value)
    assert shown == "x" * (MAX_TRACE_HEADER_CHARS - 5) + MASK + f"… ({len(value)} characters)"
    body = ("é" * (MAX_TRACE_BODY_CHARS - 3) + secret + "z" * 10_000).encode()
    assert masker.body(body) == "é" * (MAX_TRACE_BODY_CHARS - 3) + MASK + f"… ({len(body)} bytes)"


def test_what_a_trace_keeps_of_headers_and_bodies() -> None:
    masker = Masker(("secret-value",))
    assert masker.header("Authorization", "Bearer secret-value") == f"Bearer {MASK}"
    assert masker.header("Cookie", "a=b") == MASK
    assert masker.header("X-A", "short secret-value") == f"short {MASK}"
    long = masker.header("X-A", "v" * 5000)
    assert long == "v" * MAX_TRACE_HEADER_CHARS + "… (5000 characters)"
    assert masker.body(None) is None
    assert masker.body(b'{"k":"secret-value"}') == f'{{"k":"{MASK}"}}'
    assert masker.body(b"b" * 9000) == "b" * MAX_TRACE_BODY_CHARS + "… (9000 bytes)"


@pytest.mark.parametrize(
    ("secrets", "text"),
    [
        # 20,000 secrets sharing their first characters, the text full of them
        (tuple(f"secret-{i:06d}-{i * 7919 % 99991:05d}" for i in range(20_000)),
         "".join(f"secret-{i:06d}-{i * 7919 % 99991:05d}" for i in range(400))),
        # a long secret whose every prefix is in the text: a naive scan is quadratic
        (("a" * 8000 + "b",), "a" * 8192),
        # a short secret occurring everywhere, overlapping itself
        (("aaaaaa", "aaaaab"), "a" * 8192),
    ],
    ids=["shared-prefixes", "long-prefix", "self-overlapping"],
)  # fmt: skip
def test_masking_time_is_linear_in_the_text(secrets: tuple[str, ...], text: str, path: str) -> None:
    masker = make(secrets, path)
    masker.mask("warm up: compiles the automaton")
    started = time.perf_counter()
    shown = masker.mask(text)
    elapsed = time.perf_counter() - started
    assert shown == (MASK * 400 if len(secrets) > 2 else reference(text, secrets))
    print(
        f"{len(text)} characters masked in {elapsed * 1000:.1f} ms ({len(masker.secrets)} secrets)"
    )
    assert elapsed < 0.1  # ~100 ns a character at worst


def big_trace(secrets: list[str], url: str = "http://127.0.0.1/big") -> dict[str, Any]:
    """The trace of the finding: 100 request headers of 8 KB, each full of secrets."""
    headers = [(f"x-h{i}", (secrets[i] * 400)[:8000]) for i in range(100)]
    return {
        "method": "GET", "url": url, "request_headers": headers, "request_body": None,
        "status": 200, "response_headers": [("Content-Length", "2")], "response_body": b"ok",
        "duration_ms": 1.0, "error": None,
    }  # fmt: skip


async def test_masking_20000_secrets_over_800_kb_of_headers_never_stalls_the_loop() -> None:
    """The finding: masking was secrets x text on the event loop (23.6 s for one fetch).
    Compiling the secrets and scanning the headers now run on the masking thread."""
    secrets = [f"secret-{i:06d}-{uuid.uuid4().hex[:8]}" for i in range(20_000)]
    raw = big_trace(secrets)
    stalls: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.002)
            stalls.append(time.perf_counter() - started - 0.002)

    gc.collect()  # a full collection (~50 ms in this process) is not masking's doing
    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    trace = await masked_trace(raw, secrets_from_settings({"list": secrets}))
    elapsed = time.perf_counter() - started
    done = True
    await tick
    assert not any(s in json.dumps(trace) for s in secrets[:100])
    assert trace["request_headers"]["x-h0"].startswith(MASK * 10)
    assert trace["request_headers"]["x-h0"].endswith("… (8000 characters)")
    worst = max(stalls)
    print(
        f"masking stall: worst loop stall {worst * 1000:.1f} ms with 20,000 secrets and "
        f"800 KB of headers (limit 50 ms); trace masked in {elapsed * 1000:.0f} ms"
    )
    assert worst < 0.25  # loosely (shared machine): the target, 50 ms, is in make bench


async def test_a_typical_trace_is_masked_on_the_loop_a_costly_one_on_the_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[str] = []
    real = masking._masking_thread

    def counted() -> Any:
        used.append("thread")
        return real()

    monkeypatch.setattr(masking, "_masking_thread", counted)
    secrets = ("sk_live_" + uuid.uuid4().hex, "eu-west-1", "traits.email")
    raw = {
        "method": "POST", "url": f"https://api.example.com/t?key={secrets[0]}",
        "request_headers": [("Content-Type", "application/json"), ("X-Key", secrets[0])],
        "request_body": json.dumps({"key": secrets[0], "n": list(range(300))}).encode(),
        "status": 200, "response_headers": [("Content-Type", "application/json")],
        "response_body": b'{"ok": true}' * 100, "duration_ms": 1.0, "error": None,
    }  # fmt: skip
    trace = await masked_trace(raw, secrets)
    assert used == [] and secrets[0] not in json.dumps(trace)
    assert trace["url"] == f"https://api.example.com/t?key={MASK}"
    assert trace["request_headers"] == {"Content-Type": "application/json", "X-Key": MASK}
    # Many secrets, or big texts: the thread.
    await masked_trace(raw, secrets + FILLER)
    await masked_trace(big_trace([secrets[0]] * 100), secrets)
    assert used == ["thread", "thread"]


def test_compiled_secrets_are_cached_between_calls() -> None:
    secrets = tuple(f"cached-{uuid.uuid4().hex}" for _ in range(100))
    masker = masker_for(secrets)
    masker.mask(secrets[0])
    assert masker_for(tuple(secrets)) is masker
    assert masker_for(tuple(list(secrets))) is masker  # an equal tuple, not the same one
    assert masker._automaton is not None


def test_secrets_are_the_long_enough_string_values_at_any_depth() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100_000):  # deeper than recursion allows
        node["x"] = {}
        node = node["x"]
    node["key"] = "deep-secret"
    settings = {"apiKey": "abcdef", "short": "abcde", "n": 123456, "flag": True,
                "list": ["listed-value", {"inner": "inner-value"}], "deep": deep}  # fmt: skip
    found = secrets_from_settings(settings)
    assert sorted(found) == ["abcdef", "deep-secret", "inner-value", "listed-value"]
    assert secrets_from_settings(settings) == found  # the same settings, the same key
