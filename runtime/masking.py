"""What a request trace may show: secrets masked, bodies and header values truncated.

The secrets of a call are its setting values (:func:`secrets_from_settings`); the
headers that carry credentials are masked whatever their value.

Masking takes time linear in the text whatever the number of secrets: searching
each secret in turn cost secrets x text, and a function with 20,000 string settings
sending 100 headers of 8 KB held the event loop 23.6 s. A set of secrets is
compiled once (cached, :func:`masker_for`) into an Aho-Corasick automaton, which
scans a text once; a trace keeps only the start of each header value and body, so
only that part, and a secret crossing the cut, is scanned. With few secrets, a text
is first searched for each of them (C speed): most texts hold none. A trace is
masked on the event loop only when that is cheap; otherwise on a thread of its own
(:func:`masked_trace`).
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MASK = "••••••"
MIN_SECRET_CHARS = 6  # shorter setting values are not masked (too many false hits)
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    }
)
MAX_TRACE_BODY_CHARS = 2048  # what a trace keeps of each body
MAX_TRACE_HEADER_CHARS = 1024  # ... and of each header value
# A longer value cannot be shown whole by a trace (URLs and header values are at most
# 8 KB): it is not matched, which keeps the automaton's size bounded by the settings'.
MAX_MATCHED_SECRET_CHARS = 16 * 1024
# Up to this many secrets, each is first looked for on its own (~0.5 ns a character
# each, against ~100 ns a character for the automaton), and up to FOUND_ONE_BY_ONE
# occurrences are located so; more go through the automaton.
FEW_SECRETS = 64
FOUND_ONE_BY_ONE = 32
# What masking costs at worst, measured on the benchmark machine (nanoseconds): a
# trace whose cost exceeds INLINE_WORK_NS is masked off the event loop.
SCAN_NS_PER_CHAR = 100
BUILD_NS_PER_CHAR = 1000  # compiling the automaton, per character of secrets
INLINE_WORK_NS = 1_000_000
# Compiled secrets kept between calls, in characters of secrets (~25 bytes each once
# compiled); the latest is always kept.
CACHE_SECRET_CHARS = 1_000_000
CACHE_ENTRIES = 64


class _Automaton:
    """Aho-Corasick over a set of secrets, stored compactly: a state created right
    after its parent (along one secret) is reached through ``chain[parent]``; the
    other edges (at most one per secret) are in ``branches``. Arrays and a tuple of
    strings, not lists: the garbage collector does not traverse them (a list per
    state added 20 ms to every full collection of the process while cached)."""

    __slots__ = ("branches", "chain", "depth", "fail", "longest_match")

    def __init__(self, secrets: tuple[str, ...]) -> None:
        chain = [""]  # chain[s]: the character leading from state s to s + 1, if any
        depth = array("i", [0])
        branches: dict[int, dict[str, int]] = {}
        ends: dict[int, int] = {}
        for secret in secrets:
            state, i = 0, 0
            while i < len(secret):  # follow what is already there...
                char = secret[i]
                if chain[state] == char:
                    state += 1
                else:
                    edges = branches.get(state)
                    nxt = None if edges is None else edges.get(char)
                    if nxt is None:
                        break
                    state = nxt
                i += 1
            for char in secret[i:]:  # ... then add the rest
                new = len(chain)
                chain.append("")
                depth.append(depth[state] + 1)
                if state == new - 1 and not chain[state]:
                    chain[state] = char
                else:
                    branches.setdefault(state, {})[char] = new
                state = new
            ends[state] = len(secret)
        # A tuple of strings is untracked by the collector once it has seen it.
        self.chain, self.branches, self.depth = tuple(chain), branches, depth
        self.fail = fail = array("i", bytes(4 * len(chain)))
        # The longest secret ending at each state (itself, or through its failure link).
        self.longest_match = longest = array("i", bytes(4 * len(chain)))
        for state, length in ends.items():
            longest[state] = length
        order = array("i", [0])  # breadth first: a failure link points to a shallower state
        for parent in order:
            children = list(branches.get(parent, {}).items())
            if chain[parent]:
                children.append((chain[parent], parent + 1))
            for char, child in children:
                order.append(child)
                if parent:
                    link = self._step(fail[parent], char)
                    fail[child] = link
                    if not longest[child]:
                        longest[child] = longest[link]

    def _step(self, state: int, char: str) -> int:
        while True:
            if self.chain[state] == char:
                return state + 1
            nxt = self.branches.get(state, {}).get(char)
            if nxt is not None:
                return nxt
            if not state:
                return 0
            state = self.fail[state]

    def runs(self, text: str, end: int) -> list[int]:
        """The spans of ``text`` covered by secrets (overlapping ones merged) that start
        before ``end``, as [start, stop, start, stop...]; scanning stops once no secret
        starting before ``end`` can still be matched."""
        chain, branches, fail = self.chain, self.branches, self.fail
        longest_match, depth = self.longest_match, self.depth
        runs: list[int] = []
        state = 0
        for i, char in enumerate(text, 1):  # _step, inlined (hot loop)
            while True:
                if chain[state] == char:
                    state += 1
                    break
                edges = branches.get(state)
                if edges is not None:
                    nxt = edges.get(char)
                    if nxt is not None:
                        state = nxt
                        break
                if not state:
                    break
                state = fail[state]
            length = longest_match[state]
            if length and i - length < end:
                start = i - length
                while runs and start < runs[-1]:
                    start = min(start, runs[-2])
                    del runs[-2:]
                runs += (start, i)
            if i >= end and depth[state] <= i - end:
                break
        return runs


class Masker:
    """A set of secrets, ready to be found in text. Get one with :func:`masker_for`."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = tuple(
            s for s in secrets if MIN_SECRET_CHARS <= len(s) <= MAX_MATCHED_SECRET_CHARS
        )
        self.longest = max(map(len, self.secrets), default=0)
        self.chars = sum(map(len, self.secrets))
        self._automaton: _Automaton | None = None
        self._lock = threading.Lock()

    def window(self, length: int, keep: int | None) -> int:
        """How many characters of a text of ``length`` masking may scan."""
        if keep is None or not self.secrets:
            return length
        return min(length, keep + self.longest - 1)

    def cost_ns(self, chars: int) -> int:
        """What masking ``chars`` characters may cost at worst (roughly, in ns)."""
        if not self.secrets:
            return 0
        cost = chars * SCAN_NS_PER_CHAR
        if len(self.secrets) <= FEW_SECRETS:
            cost += chars * len(self.secrets) // 2
        if self._automaton is None:
            cost += self.chars * BUILD_NS_PER_CHAR
        return cost

    def mask(self, text: str, keep: int | None = None) -> str:
        """``text``, or its first ``keep`` characters, with every span covered by
        secrets replaced by MASK (a secret crossing the cut is masked whole)."""
        end = len(text) if keep is None or keep > len(text) else keep
        if not self.secrets:
            return text[:end]
        runs = None
        if len(self.secrets) <= FEW_SECRETS:
            window = text[: end + self.longest - 1]
            for secret in self.secrets:
                if secret in window:
                    break
            else:
                return text[:end]
            present = [secret for secret in self.secrets if secret in window]
            runs = _runs_one_by_one(window, end, present)
        if runs is None:
            runs = self._compiled().runs(text, end)
        pieces: list[str] = []
        done = 0
        for k in range(0, len(runs), 2):
            pieces += (text[done : runs[k]], MASK)
            done = runs[k + 1]
        pieces.append(text[done:end])
        return "".join(pieces)

    def header(self, name: str, value: str) -> str:
        """A header value as a trace shows it: its first MAX_TRACE_HEADER_CHARS
        characters, masked."""
        if name.lower() in SENSITIVE_HEADERS:
            scheme, _, rest = value.partition(" ")
            return f"{scheme} {MASK}" if rest and scheme.isalpha() and len(scheme) < 16 else MASK
        shown = self.mask(value, MAX_TRACE_HEADER_CHARS)
        if len(value) > MAX_TRACE_HEADER_CHARS:
            return shown + f"… ({len(value)} characters)"
        return shown

    def body(self, data: bytes | None) -> str | None:
        """A body as a trace shows it: decoded, its first MAX_TRACE_BODY_CHARS
        characters, masked."""
        if data is None:
            return None
        # Enough bytes for the characters kept and a secret crossing the cut.
        text = data[: 4 * (MAX_TRACE_BODY_CHARS + self.longest)].decode("utf-8", "replace")
        shown = self.mask(text, MAX_TRACE_BODY_CHARS)
        if len(text) > MAX_TRACE_BODY_CHARS:
            return shown + f"… ({len(data)} bytes)"
        return shown

    def _compiled(self) -> _Automaton:
        automaton = self._automaton
        if automaton is None:
            with self._lock:  # built once, whichever thread needs it first
                if self._automaton is None:
                    self._automaton = _Automaton(self.secrets)
                automaton = self._automaton
        return automaton


def _runs_one_by_one(text: str, end: int, secrets: list[str]) -> list[int] | None:
    """What :meth:`_Automaton.runs` finds, by searching each secret in turn; None if
    there are more than FOUND_ONE_BY_ONE occurrences."""
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        at = text.find(secret)
        while 0 <= at < end:
            if len(spans) == FOUND_ONE_BY_ONE:
                return None
            spans.append((at, at + len(secret)))
            at = text.find(secret, at + 1)
    runs: list[int] = []
    for start, stop in sorted(spans):
        if runs and start < runs[-1]:
            runs[-1] = max(stop, runs[-1])
        else:
            runs += (start, stop)
    return runs


_maskers: OrderedDict[tuple[str, ...], Masker] = OrderedDict()
_maskers_lock = threading.Lock()


def masker_for(secrets: tuple[str, ...]) -> Masker:
    """The masker of ``secrets``, compiled at most once while it stays cached (calls of
    one function share their settings, so their secrets)."""
    with _maskers_lock:
        masker = _maskers.get(secrets)
        if masker is not None:
            _maskers.move_to_end(secrets)
            return masker
    masker = Masker(secrets)
    with _maskers_lock:
        _maskers[secrets] = masker
        total = sum(m.chars for m in _maskers.values())
        while len(_maskers) > 1 and (len(_maskers) > CACHE_ENTRIES or total > CACHE_SECRET_CHARS):
            total -= _maskers.popitem(last=False)[1].chars
    return masker


def mask_header(name: str, value: str, secrets: tuple[str, ...]) -> str:
    """A header value as a trace shows it (see :meth:`Masker.header`)."""
    return masker_for(secrets).header(name, value)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _masking_thread() -> ThreadPoolExecutor:
    # One thread: masking is CPU work under the GIL, so more threads would not make it
    # faster, only take the GIL from the event loop more often.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="runtime-masking")
        return _executor


async def masked_trace(raw: dict[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    """The trace of a request as callers see it, from the one runtime/fetch.py recorded
    (texts, header pairs and bodies as they were): masked on the event loop when that
    is cheap, on the masking thread otherwise."""
    masker = masker_for(secrets)
    if masker.cost_ns(_trace_chars(raw, masker)) <= INLINE_WORK_NS:
        return _masked_trace(raw, masker)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_masking_thread(), _masked_trace, raw, masker)


_TEXTS = ("url", "final_url", "error")
_HEADERS = ("request_headers", "response_headers")
_BODIES = ("request_body", "response_body")


def _trace_chars(raw: dict[str, Any], masker: Masker) -> int:
    """How many characters masking ``raw`` may scan (at most)."""
    chars = sum(len(raw.get(key) or "") for key in _TEXTS)
    for url in raw.get("redirects", ()):
        chars += len(url)
    header_window = MAX_TRACE_HEADER_CHARS + masker.longest
    for key in _HEADERS:
        for _, value in raw[key]:
            chars += min(len(value), header_window)
    for key in _BODIES:
        if raw[key] is not None:
            chars += masker.window(len(raw[key]), MAX_TRACE_BODY_CHARS)
    return chars


def _masked_trace(raw: dict[str, Any], masker: Masker) -> dict[str, Any]:
    trace = dict(raw)
    for key in _TEXTS:
        if raw.get(key) is not None:
            trace[key] = masker.mask(raw[key])
    if "redirects" in raw:
        trace["redirects"] = [masker.mask(url) for url in raw["redirects"]]
    for key in _HEADERS:
        trace[key] = {name: masker.header(name, value) for name, value in raw[key]}
    for key in _BODIES:
        trace[key] = masker.body(raw[key])
    return trace


def secrets_from_settings(settings: dict[str, Any]) -> tuple[str, ...]:
    """String setting values long enough to be worth masking in traces."""
    found: set[str] = set()
    pending: list[Any] = [settings.values()]
    while pending:  # iterative: settings may nest as deep as JSON allows
        for value in pending.pop():
            if isinstance(value, str):
                if len(value) >= MIN_SECRET_CHARS:
                    found.add(value)
            elif isinstance(value, dict):
                pending.append(value.values())
            elif isinstance(value, list):
                pending.append(value)
    # Equal settings give the same tuple (the key of the cached masker); the order
    # does not matter to masking.
    return tuple(found)
