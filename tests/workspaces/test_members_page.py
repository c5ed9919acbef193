"""The Members page of a big workspace costs what one page of it shows, not members x
functions: 155 members, 551 functions, function roles limited to subsets."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from workspaces.management.commands.bench_members import (
    BENCH_FUNCTIONS,
    BENCH_INVITATIONS,
    members_bench_seed,
)
from workspaces.models import Membership, Role

PAGE_SIZE = 50
MAX_QUERIES = 20
MAX_PAGE_BYTES = 100_000


@pytest.fixture
def big(db: None) -> tuple[Client, str]:
    workspace, owner = members_bench_seed()
    client = Client()
    client.force_login(owner)
    return client, workspace.slug


def test_a_page_of_members_is_bounded_in_queries_and_size(
    big: tuple[Client, str], django_assert_max_num_queries
) -> None:
    client, slug = big
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/w/{slug}/members/")
    assert response.status_code == 200
    assert len(response.content) < MAX_PAGE_BYTES, len(response.content)
    assert len(re.findall(rb'<tr id="member-\d+"', response.content)) == PAGE_SIZE
    assert len(re.findall(rb'<tr id="invitation-\d+"', response.content)) == PAGE_SIZE
    # A subset is a count with a link to the member's own page, not 551 options per member.
    assert b"<option" not in response.content
    assert re.search(rb"Functions Read-only: 120 functions", response.content)


def test_every_member_is_on_some_page(big: tuple[Client, str]) -> None:
    client, slug = big
    seen: set[bytes] = set()
    for page in (1, 2, 3, 4):
        content = client.get(f"/w/{slug}/members/", {"page": page}).content
        seen |= set(re.findall(rb'<tr id="member-(\d+)"', content))
    assert len(seen) == Membership.objects.filter(workspace__slug=slug).count() == 155
    assert client.get(f"/w/{slug}/members/", {"page": "nope"}).status_code == 200
    rest = client.get(f"/w/{slug}/members/", {"invitations_page": 2}).content
    assert len(re.findall(rb'<tr id="invitation-\d+"', rest)) == BENCH_INVITATIONS - PAGE_SIZE


def test_a_members_subset_is_detailed_on_their_own_page(
    big: tuple[Client, str], django_assert_max_num_queries
) -> None:
    client, slug = big
    membership = (
        Membership.objects.filter(workspace__slug=slug, grants__role=Role.FUNCTIONS_READONLY,
                                  grants__all_functions=False)
        .order_by("pk")
        .first()
    )  # fmt: skip
    assert membership is not None
    subset = membership.grants.get(role=Role.FUNCTIONS_READONLY).functions.order_by("name")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/w/{slug}/members/{membership.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert all(f"<li>{function.name}</li>" in content for function in subset)
    # One member's roles form: each function once per function role, not per member.
    assert content.count("<option") == 2 * BENCH_FUNCTIONS
