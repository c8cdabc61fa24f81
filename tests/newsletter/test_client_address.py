"""Who the client is, with and without trusted reverse proxies in front of the site."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import RequestFactory

from newsletter.client_address import client_address, parse_address

PROXY = "10.0.0.5"


def request(remote_addr: str | None, forwarded_for: str | None = None):
    meta = {}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    made = RequestFactory().get("/", **meta)
    if remote_addr is None:
        del made.META["REMOTE_ADDR"]
    else:
        made.META["REMOTE_ADDR"] = remote_addr
    return made


@pytest.fixture
def behind_proxies(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def test_without_trusted_proxies_the_peer_address_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(request("203.0.113.7")) == "203.0.113.7"


def test_without_trusted_proxies_a_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_forwarded_client_is_used(behind_proxies):
    assert client_address(request(PROXY, "198.51.100.1")) == "198.51.100.1"


def test_a_spoofed_entry_left_of_the_real_client_is_ignored(behind_proxies):
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the address it really saw.
    assert client_address(request(PROXY, "1.2.3.4, 198.51.100.1")) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_skipped_from_the_right(behind_proxies):
    assert client_address(request(PROXY, "1.2.3.4, 198.51.100.1, 10.1.2.3, 10.9.9.9")) == "198.51.100.1"


def test_a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address(behind_proxies):
    """Someone reaching the site directly, claiming to be behind our proxy, stays who they are."""
    assert client_address(request("203.0.113.7", "198.51.100.1, 10.0.0.1")) == "203.0.113.7"


def test_a_trusted_proxy_without_a_forwarded_header_is_the_client(behind_proxies):
    assert client_address(request(PROXY)) == PROXY


def test_a_request_from_inside_the_trusted_network_returns_the_leftmost_trusted_address(behind_proxies):
    assert client_address(request(PROXY, "10.3.3.3, 10.2.2.2")) == "10.3.3.3"


def test_ipv6_clients_and_proxies(behind_proxies):
    assert client_address(request("fd00::1", "2001:db8::42")) == "2001:db8::42"
    assert client_address(request("fd00::1", "[2001:db8::42]:51234, fd00::2")) == "2001:db8::42"
    assert client_address(request("2001:db8::9", "198.51.100.1")) == "2001:db8::9"


def test_an_ipv4_mapped_peer_counts_as_its_ipv4_address(behind_proxies):
    assert client_address(request("::ffff:10.0.0.5", "198.51.100.1")) == "198.51.100.1"
    assert client_address(request("::ffff:203.0.113.7")) == "203.0.113.7"


def test_an_ipv4_entry_with_a_port_is_read(behind_proxies):
    assert client_address(request(PROXY, "198.51.100.1:4711")) == "198.51.100.1"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("", PROXY),
        ("not-an-ip", PROXY),
        ("198.51.100.1, unknown", PROXY),
        ("198.51.100.1,,", PROXY),
        ("999.1.1.1", PROXY),
        ("<script>", PROXY),
        ("garbage, 10.7.7.7", "10.7.7.7"),
        ("1.2.3.4, " * 50, PROXY),
        ("9.9.9.9, " * 50 + "198.51.100.1", "198.51.100.1"),
    ],
)
def test_garbage_in_the_header_never_skips_past_the_nearest_readable_address(
    behind_proxies, forwarded_for, expected
):
    # An unreadable entry stops the walk at the nearest address we could read and trust (our own
    # proxy's, at worst), so a client cannot hide behind garbage and rate limits keep a known key.
    assert client_address(request(PROXY, forwarded_for)) == expected


@pytest.mark.parametrize("remote_addr", [None, "", "unix:/run/gunicorn.sock", "garbage"])
def test_an_unreadable_peer_address_is_unknown(behind_proxies, remote_addr):
    assert client_address(request(remote_addr, "198.51.100.1")) is None


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (" 198.51.100.1 ", "198.51.100.1"),
        ('"198.51.100.1"', "198.51.100.1"),
        ("198.51.100.1:80", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[2001:db8::1", "2001:db8::1"),
        ("unknown", None),
        ("_hidden", None),
        ("1.2.3", None),
    ],
)
def test_parse_address_reads_header_entries(entry, expected):
    parsed = parse_address(entry)
    assert (None if parsed is None else str(parsed)) == expected
