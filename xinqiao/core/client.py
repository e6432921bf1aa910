"""The client's address behind the documented reverse proxy.

Behind nginx every request's REMOTE_ADDR is the proxy: five bad passwords locked an account for
everyone and twenty bad sitting codes blocked every student of the city (issue 13). A request
whose REMOTE_ADDR is one of settings.TRUSTED_PROXIES (addresses or networks) comes from the
client named in X-Forwarded-For: the right-most address there that is not itself a trusted
proxy (the left-most entries are whatever the client sent, and can be forged). Without trusted
proxies, or from anywhere else, REMOTE_ADDR is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in configured)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _address(text: str) -> Any:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Any, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address, or "" when the request carries none (a test client's force_login)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    networks = trusted_networks()
    if not networks or not _trusted(_address(remote), networks):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # a forged or garbled entry: trust nothing further left
        if not _trusted(address, networks):
            return str(address)
    return remote
