"""Where webhooks may go: ``http(s)`` URLs whose host resolves only to public addresses.
Loopback, private, link-local (169.254.169.254, the cloud metadata service), multicast and
reserved addresses are refused unless ``webhook_allow_private_networks`` is set (an
on-premises receiver; the tests' receiver on 127.0.0.1).

Checked when a subscription is made (a clear problem) and again at every send, at the socket:
``GuardedBackend`` resolves the host itself and connects only to an address it checked, so a
name that resolves elsewhere between the check and the connection gains nothing. Redirects are
never followed (``webhooks``)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]


class UnsafeTarget(Exception):
    """The URL is not one webhooks may go to (the message says why)."""


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTarget(f"{host} does not resolve ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why ``address`` is no place for a webhook, or ``None`` for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, hit in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    ):
        if hit:
            return f"{address} is a {kind} address"
    return None


def checked_addresses(host: str, port: int, *, resolver: Resolver = resolve) -> list[str]:
    """Every address ``host`` resolves to, all of them public; else ``UnsafeTarget``."""
    addresses = resolver(host, port)
    if not addresses:
        raise UnsafeTarget(f"{host} does not resolve")
    for address in addresses:
        why = refusal(address)
        if why is not None:
            raise UnsafeTarget(f"{host} resolves to {address}: {why.split(' is ', 1)[1]}")
    return addresses


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"only http and https URLs receive webhooks, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeTarget("the URL names no host")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL may not carry credentials")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    checked_addresses(parts.hostname, port, resolver=resolver)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend that connects only to checked public addresses."""

    def __init__(self, resolver: Resolver = resolve) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            address = checked_addresses(host, port, resolver=self._resolver)[0]
        except UnsafeTarget as exc:
            raise httpcore.ConnectError(f"webhook target refused: {exc}") from None
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks do not go to unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_client(timeout: httpx.Timeout, *, resolver: Resolver = resolve) -> httpx.Client:
    """An httpx client whose connections reach public addresses only (no redirects)."""
    transport = httpx.HTTPTransport()
    # httpx builds its httpcore pool without a way to pass a network backend.
    transport._pool._network_backend = GuardedBackend(resolver)
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
