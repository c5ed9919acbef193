"""The pool's fetch slots on their own (runtime/fetch_slots.py): pure accounting, no
Node, no network. Each test drives acquire/release directly and looks at who got a
slot; `take` starts one fetch's wait and lets it run until it holds a slot or waits.
"""

from __future__ import annotations

import asyncio
import itertools

from runtime.fetch_slots import FetchSlots

_calls = itertools.count(1)


async def take(slots: FetchSlots, workspace: str, function: str, *, call: int | None = None,
               wait_s: float = 5.0) -> asyncio.Task[bool]:  # fmt: skip
    """One fetch asking for a slot (a call of its own unless ``call`` is given)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    call_id = next(_calls) if call is None else call
    task = asyncio.ensure_future(slots.acquire(call_id, workspace, function, deadline))
    task.ids = (call_id, workspace, function)  # type: ignore[attr-defined]
    await settle()
    return task


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def granted(task: asyncio.Task[bool]) -> bool:
    return task.done() and not task.cancelled() and task.result()


def release(slots: FetchSlots, task: asyncio.Task[bool]) -> None:
    slots.release(*task.ids)  # type: ignore[attr-defined]


async def test_a_call_holds_at_most_its_share_then_waits_for_its_own_slots() -> None:
    slots = FetchSlots(per_call=2)
    first, second, third = [await take(slots, "ws", "fn", call=1) for _ in range(3)]
    other_call = await take(slots, "ws", "fn", call=2)
    assert granted(first) and granted(second) and granted(other_call)
    assert not third.done()
    release(slots, first)
    await settle()
    assert granted(third)
    for task in (second, third, other_call):
        release(slots, task)
    assert slots.idle


async def test_a_function_holds_at_most_its_share_whatever_its_calls() -> None:
    slots = FetchSlots(per_function=3)
    tasks = [await take(slots, "ws", "fn") for _ in range(4)]
    assert [granted(t) for t in tasks] == [True, True, True, False]
    assert granted(await take(slots, "ws", "other"))
    release(slots, tasks[0])
    await settle()
    assert granted(tasks[3])


async def test_four_functions_holding_every_shared_slot_leave_a_newcomer_a_slot() -> None:
    """The finding: four functions with 16 slow fetches each (two calls of 8) held all 64
    slots, and a fifth function's single fetch waited until its call timed out."""
    slots = FetchSlots()  # the pool's limits: 64 shared, 16 in reserve, 4 a workspace
    hogs = []
    for ws in range(4):
        for call in (100 + 2 * ws, 101 + 2 * ws):
            hogs += [await take(slots, f"ws{ws}", f"fn{ws}", call=call) for _ in range(8)]
    assert all(granted(t) for t in hogs) and slots.in_use == 64
    # More fetches of the hogs wait: their workspaces are over their share.
    more = await take(slots, "ws0", "fn0-bis")
    assert not more.done()
    newcomer = [await take(slots, "ws_new", "fn_new") for _ in range(5)]
    assert [granted(t) for t in newcomer] == [True, True, True, True, False]
    # At most four reserve slots per workspace: three more newcomers get four at once,
    # and then the reserve is used up.
    others = [[await take(slots, f"ws_other{i}", "fn") for _ in range(4)] for i in range(4)]
    assert [[granted(t) for t in tasks] for tasks in others] == [[True] * 4] * 3 + [[False] * 4]
    assert slots.in_use == 64 + 16
    # A slot released goes to the workspace holding none, not to the hogs.
    release(slots, hogs[0])
    await settle()
    assert granted(others[3][0]) and not more.done() and not newcomer[4].done()


async def test_the_reserve_is_shared_between_a_workspaces_functions() -> None:
    slots = FetchSlots(shared=8, reserve=4, reserve_per_workspace=4)
    hog = [await take(slots, "hog", "fn") for _ in range(8)]
    assert all(granted(t) for t in hog)
    # Two workspaces: B's share is 4 (all of the reserve a workspace may hold), and its
    # two functions' shares 2 each.
    b2 = await take(slots, "B", "b2")
    b1 = [await take(slots, "B", "b1") for _ in range(3)]
    assert granted(b2) and [granted(t) for t in b1] == [True, True, False]
    assert granted(await take(slots, "B", "b2"))
    assert slots.in_use == 12


async def test_never_more_than_the_shared_and_reserve_slots_in_flight() -> None:
    slots = FetchSlots(shared=8, reserve=4, reserve_per_workspace=2)
    tasks = [await take(slots, f"ws{i % 7}", f"fn{i % 13}") for i in range(60)]
    assert slots.in_use == 12 == sum(granted(t) for t in tasks)
    # Releasing everything in any order hands every slot on, never more than 12 at once.
    while any(not t.done() for t in tasks) or slots.in_use:
        held = [t for t in tasks if granted(t) and not getattr(t, "released", False)]
        release(slots, held[len(held) // 2])
        held[len(held) // 2].released = True  # type: ignore[attr-defined]
        await settle()
        assert slots.in_use <= 12
    assert all(granted(t) for t in tasks) and slots.idle


async def test_a_released_slot_goes_to_the_least_served_workspace_then_function() -> None:
    slots = FetchSlots(shared=3, reserve=0)
    a1 = await take(slots, "A", "a1")
    a2 = await take(slots, "A", "a1")
    b1 = await take(slots, "B", "b1")
    assert all(granted(t) for t in (a1, a2, b1))
    waiting_a = await take(slots, "A", "a2")  # oldest, but A holds 2
    waiting_b = await take(slots, "B", "b1")  # B holds 1, in b1
    waiting_b2 = await take(slots, "B", "b2")  # B holds 1, b2 none: before b1
    waiting_c = await take(slots, "C", "c1")  # C holds none: first
    release(slots, a1)
    await settle()
    assert granted(waiting_c) and not any(t.done() for t in (waiting_a, waiting_b, waiting_b2))
    release(slots, a2)  # A 0, B 1, C 1: A's
    await settle()
    assert granted(waiting_a) and not waiting_b.done() and not waiting_b2.done()
    release(slots, waiting_c)  # A 1, B 1, C 0 (nobody waiting): B, its least served function
    await settle()
    assert granted(waiting_b2) and not waiting_b.done()
    release(slots, b1)
    await settle()
    assert granted(waiting_b)


async def test_the_oldest_waiter_first_within_a_function() -> None:
    slots = FetchSlots(shared=1, reserve=0)
    holder = await take(slots, "ws", "fn")
    waiters = [await take(slots, "ws", "fn") for _ in range(3)]
    for expected in range(3):
        release(slots, holder if expected == 0 else waiters[expected - 1])
        await settle()
        assert [granted(t) for t in waiters] == [i <= expected for i in range(3)]


async def test_the_reserve_drains_back_to_the_newcomers() -> None:
    """While the reserve is in use, a released slot goes only to a fetch that may use
    the reserve: an over-share workspace waits until the total is back under the
    shared slots."""
    slots = FetchSlots(shared=2, reserve=1, reserve_per_workspace=1)
    hog = [await take(slots, "hog", "fn") for _ in range(2)]
    newcomer = await take(slots, "new", "fn")
    assert all(granted(t) for t in (*hog, newcomer)) and slots.in_use == 3
    hog_more = await take(slots, "hog", "fn")
    release(slots, newcomer)
    await settle()
    assert not hog_more.done() and slots.in_use == 2
    release(slots, hog[0])
    await settle()
    assert granted(hog_more)


async def test_waiting_ends_at_the_deadline_and_leaves_nothing_behind() -> None:
    slots = FetchSlots(shared=1, reserve=0, per_call=1)
    holder = await take(slots, "ws", "fn", call=1)
    same_call = await take(slots, "ws", "fn", call=1, wait_s=0.05)  # waits for its call
    other = await take(slots, "ws2", "fn", call=2, wait_s=0.05)  # waits for the pool
    assert await same_call is False and await other is False
    release(slots, holder)
    assert slots.idle


async def test_a_cancelled_waiter_leaves_nothing_behind_even_when_just_granted() -> None:
    slots = FetchSlots(shared=1, reserve=0, per_call=1)
    holder = await take(slots, "ws", "fn", call=1)
    cancelled = await take(slots, "ws2", "fn")
    cancelled.cancel()
    await settle()
    # Granted and cancelled in the same tick: the slot is handed on, not lost.
    just_granted = await take(slots, "ws3", "fn")
    next_in_line = await take(slots, "ws4", "fn")
    release(slots, holder)
    just_granted.cancel()
    await settle()
    assert just_granted.cancelled() and granted(next_in_line)
    # The same for a call's own slots.
    mine = await take(slots, "ws5", "fn5", call=7)
    queued = await take(slots, "ws5", "fn5", call=7)
    queued_next = await take(slots, "ws5", "fn5", call=7)
    assert not mine.done()
    release(slots, next_in_line)
    await settle()
    assert granted(mine)
    release(slots, mine)
    queued.cancel()
    await settle()
    assert granted(queued_next)
    release(slots, queued_next)
    assert slots.idle
