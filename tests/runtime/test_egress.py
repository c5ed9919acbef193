"""The egress policy on its own: which addresses a function may connect to."""

from __future__ import annotations

import ipaddress

import pytest

from runtime import egress
from runtime.egress import EgressDenied, EgressPolicy, is_public_address

BLOCKED = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "0.0.0.0",
    "::",
    "169.254.169.254",
    "fe80::1",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "fc00::1",
    "fd12:3456::1",
    "224.0.0.1",
    "255.255.255.255",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "192.0.2.1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_private_and_special_addresses_are_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_global_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", BLOCKED)
async def test_vet_refuses_private_literals(address):
    with pytest.raises(EgressDenied, match="not allowed"):
        await EgressPolicy().vet(address, 80)


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0"])
async def test_numeric_spellings_resolve_to_loopback_and_are_refused(spelling):
    # The system resolver turns these into 127.0.0.1 / 0.0.0.0 (inet_aton rules).
    with pytest.raises(EgressDenied):
        await EgressPolicy().vet(spelling, 80)


async def test_names_resolving_to_private_addresses_are_refused():
    with pytest.raises(EgressDenied, match="resolves to"):
        await EgressPolicy().vet("localhost", 80)


async def test_any_private_answer_refuses_the_name(monkeypatch):
    async def resolve(host: str, port: int) -> list[str]:
        return {"mixed.example": ["93.184.216.34", "10.1.2.3"], "ok.example": ["8.8.8.8"]}[host]

    monkeypatch.setattr(egress, "resolve_host", resolve)
    with pytest.raises(EgressDenied, match=r"10\.1\.2\.3"):
        await EgressPolicy().vet("mixed.example", 443)
    assert await EgressPolicy().vet("OK.example.", 443) == ["8.8.8.8"]


async def test_unresolvable_names_are_refused(monkeypatch):
    async def resolve(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(egress, "resolve_host", resolve)
    with pytest.raises(EgressDenied, match="could not resolve"):
        await EgressPolicy().vet("nowhere.invalid", 80)


async def test_the_allowlist_takes_hosts_ips_and_cidrs():
    policy = EgressPolicy.from_allowlist(["localhost", " 10.0.0.0/8 ", "::1", ""])
    assert "localhost" in policy.hosts
    assert await policy.vet("10.20.30.40", 80) == ["10.20.30.40"]
    assert await policy.vet("[::1]", 80) == ["::1"]
    assert "127.0.0.1" in await policy.vet("localhost", 80)
    with pytest.raises(EgressDenied):
        await policy.vet("192.168.0.1", 80)


def test_only_http_and_https_are_allowed():
    policy = EgressPolicy()
    policy.check_scheme("https")
    policy.check_scheme("HTTP")
    for scheme in ["file", "ftp", "gopher", "data", "javascript"]:
        with pytest.raises(EgressDenied):
            policy.check_scheme(scheme)


def test_the_policy_reads_the_django_setting(settings):
    settings.FUNCTIONS_EGRESS_ALLOWLIST = ["127.0.0.1", "internal.example"]
    policy = EgressPolicy.from_settings()
    assert policy.hosts == frozenset({"internal.example"})
    assert ipaddress.ip_address("127.0.0.1") in policy.networks[0]
