"""Two owners demoting each other at the same moment must leave one owner."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from django.db import connections

from tests.conftest import build_world
from workspaces import services
from workspaces.models import Membership, Role, RoleGrant
from workspaces.services import GrantSpec, member_roles_set


@pytest.mark.django_db(transaction=True)
def test_concurrent_demotions_keep_an_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world()
    olivia, adam = world.users["olivia"], world.users["adam"]
    adams_membership = Membership.objects.get(workspace=world.acme, user=adam)
    member_roles_set(membership=adams_membership, grants=[GrantSpec(role=Role.OWNER)], actor=olivia)

    check = services._ensure_an_owner_remains
    both_written = threading.Barrier(2, timeout=2)

    def slow_check(workspace: object) -> None:
        # Without a lock both demotions reach this point uncommitted and each still sees
        # the other as owner; with it, the second waits here in vain and goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_written.wait()
        check(workspace)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_ensure_an_owner_remains", slow_check)
    outcomes: list[str] = []

    def demote(user: object) -> None:
        try:
            membership = Membership.objects.get(workspace=world.acme, user=user)
            member_roles_set(
                membership=membership, grants=[GrantSpec(role=Role.AUDITOR)], actor=user
            )
            outcomes.append("demoted")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=demote, args=(u,)) for u in (olivia, adam)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=30)
    owners = RoleGrant.objects.filter(membership__workspace=world.acme, role=Role.OWNER).count()
    assert owners == 1, outcomes
    # The loser is refused by the owner rule (PostgreSQL) or by SQLite's single writer lock.
    assert sorted(outcomes)[1] == "demoted"
    assert sorted(outcomes)[0] in ("OperationalError", "ValidationError")
