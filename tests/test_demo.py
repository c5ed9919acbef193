"""`manage.py seed_demo` (run by `make run`): the demo workspace, one login per role, and a
destination that delivers out of the box to this server's echo endpoint."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.core.management import call_command, get_commands
from django.test import Client

from catalog.models import DestinationInstance
from functions_ide.demo import DEMO_MEMBERS, DEMO_SLUG, demo_curl_line, demo_echo_url
from functions_ide.echo import MAX_ECHO_BYTES
from functions_ide.management.commands.serve import children_environment
from pipeline.delivery import delivery_round
from pipeline.models import DeliveryAttempt, DeliveryJob, JobState
from runtime.config import PoolConfig
from runtime.egress import EgressPolicy
from runtime.pool import WorkerPool
from workspaces.models import Workspace
from workspaces.selectors import workspace_access_get


@pytest.mark.django_db
def test_seed_demo_creates_one_login_per_role_once(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo")
    first = capsys.readouterr().out
    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    for name, roles in DEMO_MEMBERS.items():
        line = next(line for line in first.splitlines() if f"demo-{name} " in line)
        password = line.split()[1]
        user = workspace.memberships.get(user__username=f"demo-{name}").user
        assert user.check_password(password)
        access = workspace_access_get(user=user, workspace=workspace)
        assert access is not None and set(access.roles) == set(roles)
    instance = DestinationInstance.objects.get(workspace=workspace)
    assert instance.enabled and instance.settings == {"url": "http://127.0.0.1:8000/demo/echo/"}
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "exists" in second and "demo-owner " not in second
    assert Workspace.objects.filter(slug=DEMO_SLUG).count() == 1


def test_seed_demo_is_the_projects_command() -> None:
    # It composes workspaces and the catalog, so it lives above both (see test_layout.py).
    assert get_commands()["seed_demo"] == "functions_ide"


def test_serve_lets_functions_reach_its_echo_endpoint_only() -> None:
    env = children_environment(host="0.0.0.0", port=8123)
    assert env["FUNCTIONS_EGRESS_ALLOWED_URLS"] == "http://127.0.0.1:8123/demo/echo/"
    assert demo_echo_url(host="::", port=80) == "http://[::1]:80/demo/echo/"


def _host_and_port(url: str) -> tuple[str, int]:
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    return address.hostname, address.port


@pytest_asyncio.fixture
async def echo_pool(asgi_live_server: str) -> AsyncIterator[WorkerPool]:
    """The delivery worker's pool as serve configures it for the live server."""
    host, port = _host_and_port(asgi_live_server)
    policy = EgressPolicy.from_allowlist([], urls=[demo_echo_url(host=host, port=port)])
    pool = WorkerPool(PoolConfig(workers=1, egress=policy))
    yield pool
    await pool.shutdown()


@pytest.mark.django_db(transaction=True)
async def test_the_printed_curl_event_is_delivered_to_the_echo(
    asgi_live_server: str, echo_pool: WorkerPool
) -> None:
    host, port = _host_and_port(asgi_live_server)
    await sync_to_async(call_command)("seed_demo", host=host, port=port)
    curl = await sync_to_async(demo_curl_line)(host=host, port=port)
    assert curl is not None and f"http://{host}:{port}/v1/track" in curl

    sent = subprocess.run(
        [*shlex.split(curl), "-sS"], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(sent.stdout) == {"success": True}
    summary = await delivery_round(worker_id="demo-test", pool=echo_pool)

    assert summary.outcomes == {"success": 1}
    job = await DeliveryJob.objects.select_related("event").aget()
    assert job.state == JobState.DELIVERED
    attempt = await DeliveryAttempt.objects.aget(job=job)
    [request] = attempt.requests
    # (Its URL is a setting value, so the runtime masks it in the trace.)
    assert request["status"] == 200
    echoed = json.loads(request["response_body"])["echo"]
    assert echoed["messageId"] == job.event.message_id and echoed["event"] == "Tried The Demo"


def test_the_echo_answers_json_only_and_within_its_cap() -> None:
    client = Client(enforce_csrf_checks=True)
    answer = client.post(
        "/demo/echo/", {"a": 1}, content_type="application/json", HTTP_X_SECRET="s3cret"
    )
    assert answer.status_code == 200 and answer.json() == {"echo": {"a": 1}}
    assert "s3cret" not in answer.content.decode() and "X-Secret" not in answer.headers
    assert answer["Content-Type"] == "application/json"
    not_json = client.post("/demo/echo/", "<b>hi</b>", content_type="text/html")
    assert not_json.status_code == 400 and not_json.json() == {"error": "The body must be JSON."}
    big = client.post("/demo/echo/", b"1" * (MAX_ECHO_BYTES + 1), content_type="application/json")
    assert big.status_code == 413 and "64 KB" in big.json()["error"]
    assert client.get("/demo/echo/").status_code == 405
