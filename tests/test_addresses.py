import ipaddress

import pytest

from pipeline.addresses import literal_refusal, public_only


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.3", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
    ],
)
def test_addresses_inside_are_refused_with_their_kind(address: str, kind: str) -> None:
    reason = public_only(ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert public_only(ipaddress.ip_address(address)) is None


def test_literal_hosts_are_checked_and_names_left_to_the_resolver() -> None:
    assert literal_refusal("127.0.0.1", public_only) == "127.0.0.1 is a loopback address"
    assert literal_refusal("[::1]", public_only) == "::1 is a loopback address"
    assert literal_refusal("news.example", public_only) is None
    assert literal_refusal("8.8.8.8", public_only) is None
