from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import World


@pytest.fixture
def api(world: World):
    """``api("olivia")`` returns a DRF client authenticated as that persona (None: anonymous)."""

    def _client(username: str | None) -> APIClient:
        client = APIClient()
        if username is not None:
            client.force_authenticate(user=world.users[username])
        return client

    return _client
