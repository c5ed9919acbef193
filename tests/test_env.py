from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from functions_ide.env import env_bool, env_int, env_list, env_str, load_dotenv


def test_values_come_from_name_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("FNIDE_TEST_SECRET_FILE", str(secret))
    assert env_str("FNIDE_TEST_SECRET") == "from-a-file"
    monkeypatch.setenv("FNIDE_TEST_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_str("FNIDE_TEST_SECRET")


def test_malformed_values_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FNIDE_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        env_bool("FNIDE_TEST_FLAG")
    monkeypatch.setenv("FNIDE_TEST_NUMBER", "12x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("FNIDE_TEST_NUMBER", 3)
    monkeypatch.setenv("FNIDE_TEST_FLAG", "Yes")
    assert env_bool("FNIDE_TEST_FLAG") is True
    monkeypatch.setenv("FNIDE_TEST_LIST", " a.com, 10.0.0.0/8 ,,")
    assert env_list("FNIDE_TEST_LIST") == ["a.com", "10.0.0.0/8"]


def test_dotenv_never_overrides_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nFNIDE_A=from-file\nFNIDE_B='quoted'\n")
    monkeypatch.setenv("FNIDE_A", "from-env")
    monkeypatch.delenv("FNIDE_B", raising=False)
    load_dotenv(dotenv)
    assert env_str("FNIDE_A") == "from-env"
    assert env_str("FNIDE_B") == "quoted"
    monkeypatch.delenv("FNIDE_B")


def test_https_switch_secures_cookies_and_trusts_the_proxy() -> None:
    import os
    import subprocess
    import sys

    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "functions_ide.settings",
        "DJANGO_HTTPS": "1",
        "DJANGO_BEHIND_PROXY": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True True 3600 ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_outgoing_request_urls_are_not_logged() -> None:
    import logging

    # Function fetches carry API keys in query strings; httpx would log each URL at INFO.
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
