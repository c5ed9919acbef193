"""Group commit (pipeline/group_commit.py): what arrives while a group is being stored goes
into the next group, each submitter gets its own outcome, and nobody waits forever."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from pipeline.group_commit import GroupCommit


class Store:
    """Records the groups it is given; the first call waits until ``release`` is set, so
    that a test can make items pile up behind it. Items that are exceptions fail alone."""

    def __init__(self) -> None:
        self.groups: list[list[object]] = []
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, items: Sequence[object]) -> list[object]:
        self.calls += 1
        if self.calls == 1:
            assert self.release.wait(10), "the test never released the first group"
        self.groups.append(list(items))
        return [item if isinstance(item, Exception) else f"stored {item}" for item in items]


def _commit(store: Store, max_group_size: int = 100) -> GroupCommit[object, str]:
    return GroupCommit(store, size_of=lambda item: 1, max_group_size=max_group_size)


async def _release_when_queued(store: Store, commit: GroupCommit[object, str], count: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(commit._queues[loop].waiting) >= count:
            break
    store.release.set()


async def test_what_arrives_during_a_store_is_stored_together_next() -> None:
    store = Store()
    commit = _commit(store)
    first = asyncio.ensure_future(commit.submit("a"))
    await asyncio.sleep(0.05)  # "a" is being stored, alone
    others = [asyncio.ensure_future(commit.submit(n)) for n in range(5)]
    await _release_when_queued(store, commit, 5)
    assert await first == "stored a"
    assert await asyncio.gather(*others) == [f"stored {n}" for n in range(5)]
    assert store.groups == [["a"], [0, 1, 2, 3, 4]]


async def test_groups_are_capped_by_size() -> None:
    store = Store()
    commit = _commit(store, max_group_size=2)
    first = asyncio.ensure_future(commit.submit("a"))
    await asyncio.sleep(0.05)
    others = [asyncio.ensure_future(commit.submit(n)) for n in range(5)]
    await _release_when_queued(store, commit, 5)
    await asyncio.gather(first, *others)
    assert store.groups == [["a"], [0, 1], [2, 3], [4]]


async def test_an_item_that_fails_fails_alone() -> None:
    store = Store()
    store.release.set()
    commit = _commit(store)
    results = await asyncio.gather(
        commit.submit(1), commit.submit(ValueError("refused")), commit.submit(3),
        return_exceptions=True,
    )  # fmt: skip
    assert results[0] == "stored 1" and results[2] == "stored 3"
    assert isinstance(results[1], ValueError) and str(results[1]) == "refused"


async def test_a_store_that_raises_fails_its_group_and_the_next_group_goes_on() -> None:
    calls: list[list[object]] = []

    def store(items: Sequence[object]) -> list[object]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return [f"stored {item}" for item in items]

    commit: GroupCommit[object, str] = GroupCommit(store, size_of=lambda i: 1, max_group_size=9)
    with pytest.raises(RuntimeError, match="database gone"):
        await commit.submit("a")
    assert await commit.submit("b") == "stored b"


async def test_a_submitter_that_goes_away_does_not_stop_the_others() -> None:
    store = Store()
    commit = _commit(store)
    first = asyncio.ensure_future(commit.submit("a"))
    await asyncio.sleep(0.05)
    leaving = asyncio.ensure_future(commit.submit("gone"))
    staying = asyncio.ensure_future(commit.submit("kept"))
    await asyncio.sleep(0.01)
    leaving.cancel()
    store.release.set()
    assert await first == "stored a"
    assert await staying == "stored kept"
    assert leaving.cancelled()


async def test_a_store_that_answers_for_too_few_items_fails_them_all() -> None:
    commit: GroupCommit[object, str] = GroupCommit(
        lambda items: ["only one"], size_of=lambda i: 1, max_group_size=9
    )
    results = await asyncio.gather(commit.submit(1), commit.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and "1 outcomes for 2" in str(r) for r in results)
