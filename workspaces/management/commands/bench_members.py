"""python manage.py bench_members (make bench): the Members page of a big workspace.

Seeds 155 members (function roles over all functions or subsets of them), 551 functions and
60 pending invitations into a database of its own in a temporary folder (never var/), then
renders the Members page and one member's page through Django in-process, signed in as the
owner, and prints their render times and sizes. Not a test: figures, each beside its limit.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client

from workspaces.models import Membership, Role, RoleGrant, Workspace
from workspaces.services import GrantSpec, invitation_create, workspace_create

BENCH_MEMBERS = 155  # the owner included
BENCH_FUNCTIONS = 551
BENCH_INVITATIONS = 60  # pending: more than one page of them
RENDER_LIMIT_MS = 1000.0  # "well under a second"


def _grants_of(index: int, function_ids: list[int]) -> list[tuple[str, list[int] | None]]:
    """(role, subset or None for all functions) of the member numbered ``index``: a mix of
    every role, with subsets from 20 to 200 functions."""
    kinds: list[list[tuple[str, list[int] | None]]] = [
        [(Role.FUNCTIONS_ADMIN, function_ids[index % 50 :][:60]), (Role.SOURCE_ADMIN, None)],
        [(Role.FUNCTIONS_READONLY, function_ids[index % 70 :][:120])],
        [(Role.FUNCTIONS_ADMIN, None)],
        [(Role.FUNCTIONS_READONLY, None), (Role.AUDITOR, None)],
        [
            (Role.FUNCTIONS_ADMIN, function_ids[-20:]),
            (Role.FUNCTIONS_READONLY, function_ids[index:][:200]),
        ],
    ]
    return kinds[index % len(kinds)]


def members_bench_seed(
    *,
    members: int = BENCH_MEMBERS,
    functions: int = BENCH_FUNCTIONS,
    invitations: int = BENCH_INVITATIONS,
    slug: str = "bench",
) -> tuple[Workspace, User]:
    """A workspace with ``members`` members (its owner first), ``functions`` functions and
    ``invitations`` pending invitations. Functions and members are written in bulk, without
    audit rows: this is a fixture, not a change anyone made. Functions are created through
    the grants' own relation, like ``selectors.grantable_function_list`` reads them, so this
    app never imports the catalog."""
    user_model = get_user_model()
    password = make_password(None)  # nobody signs in as the seeded members
    owner = user_model.objects.create_user(username=f"{slug}-owner", email=f"owner@{slug}.test")
    workspace = workspace_create(name=slug.title(), slug=slug, owner=owner)
    function_model = RoleGrant.functions.field.remote_field.model
    function_model._default_manager.bulk_create(
        function_model(workspace=workspace, name=f"Function {n:03d}", code="", created_by=owner)
        for n in range(functions)
    )
    function_ids = list(
        function_model._default_manager.filter(workspace=workspace)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    users = user_model.objects.bulk_create(
        user_model(username=f"{slug}-member-{i:03d}", email=f"m{i}@{slug}.test", password=password)
        for i in range(1, members)
    )
    memberships = Membership.objects.bulk_create(
        Membership(workspace=workspace, user=user) for user in users
    )
    grant_rows: list[RoleGrant] = []
    subsets: list[list[int]] = []
    for index, membership in enumerate(memberships, start=1):
        for role, subset in _grants_of(index, function_ids):
            grant_rows.append(
                RoleGrant(membership=membership, role=role, all_functions=subset is None)
            )
            subsets.append(subset or [])
    grants = RoleGrant.objects.bulk_create(grant_rows)
    through = RoleGrant.functions.through
    through.objects.bulk_create(
        through(rolegrant_id=grant.pk, function_id=function_id)
        for grant, subset in zip(grants, subsets, strict=True)
        for function_id in subset
    )
    for index in range(invitations):
        offered = [
            GrantSpec(role=role, all_functions=subset is None, function_ids=frozenset(subset or []))
            for role, subset in _grants_of(index, function_ids)
        ]
        invitation_create(workspace=workspace, grants=offered, actor=owner, note=f"Invitee {index}")
    return workspace, owner


def page_measure(*, client: Client, url: str, runs: int) -> dict[str, float]:
    """Render time of ``url`` (first request, and the median of ``runs`` more) and its size."""
    times: list[float] = []
    size = 0
    for _ in range(runs + 1):  # the first render also loads templates and warms caches
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        size = len(response.content)
    return {"first_ms": times[0], "median_ms": statistics.median(times[1:]), "bytes": size}


class Command(BaseCommand):
    help = "Benchmark the Members page of a workspace with 155 members and 551 functions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=10)
        # Internal: measure in this process, on the database the settings name.
        parser.add_argument("--in-this-database", action="store_true", help="(internal)")

    def handle(self, *args: Any, runs: int, in_this_database: bool, **options: Any) -> None:
        if in_this_database:
            self.measure(runs)
            return
        with tempfile.TemporaryDirectory() as folder:
            env = os.environ | {"SQLITE_PATH": str(Path(folder) / "bench.sqlite3")}
            env.pop("DATABASE_URL", None)
            manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
            subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
            subprocess.run(
                [*manage, "bench_members", "--in-this-database", "--runs", str(runs)],
                env=env,
                check=True,
            )

    def measure(self, runs: int) -> None:
        started = time.perf_counter()
        workspace, owner = members_bench_seed()
        seeded_s = time.perf_counter() - started
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(owner)
        subset_member = (
            Membership.objects.filter(workspace=workspace, grants__all_functions=False)
            .order_by("pk")
            .first()
        )
        if subset_member is None:
            raise CommandError("the seed gave nobody a function subset")
        pages = {
            "Members page": f"/w/{workspace.slug}/members/",
            "A member's page (roles form of 551 functions)": (
                f"/w/{workspace.slug}/members/{subset_member.pk}/"
            ),
        }
        self.stdout.write(
            f"Members, {BENCH_MEMBERS} members, {BENCH_FUNCTIONS} functions, "
            f"{BENCH_INVITATIONS} pending invitations "
            f"(seeded in {seeded_s:.1f} s, {os.cpu_count()} cores, rendered in-process)"
        )
        limit = f"(limit: well under a second, < {RENDER_LIMIT_MS:.0f} ms)"
        for title, url in pages.items():
            figures = page_measure(client=client, url=url, runs=runs)
            self.stdout.write(f"{title}:")
            self.line("render time, first request", f"{figures['first_ms']:.0f} ms {limit}")
            self.line(f"render time, median of {runs}", f"{figures['median_ms']:.0f} ms {limit}")
            self.line("size", f"{figures['bytes'] / 1024:,.0f} KB")

    def line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<44} {value}")
