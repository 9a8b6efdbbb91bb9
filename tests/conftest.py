"""Shared fixtures for murano-sim's own tests."""

from __future__ import annotations

import importlib
import ipaddress
import pkgutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import murano_sim
from murano_sim import Runtime

ROOT = Path(__file__).resolve().parent.parent

# pytester puts sys.modules back after every test that uses it, so a module murano-sim imports lazily
# (the Twilio emulator, on first use) would be imported again by the next test, and an object made by
# the first copy (a pooled runtime's records) would meet the second copy's classes. Import them all
# once, before any test takes its snapshot.
for _module in pkgutil.walk_packages(murano_sim.__path__, "murano_sim."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)
# The same for what the local CA imports on first use: cryptography's Rust core keeps the first copy's
# classes ("curve must be an EllipticCurve instance" after a pytester test dropped the modules).
importlib.import_module("trustme")


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    """One reused Runtime, as users get it: the point is that runs stay isolated."""
    with Runtime({}) as rt:
        yield rt


def run(rt: Runtime, source: str, **kwargs):
    """Run and fail loudly with the script error when a test expects success."""
    return rt.run(source, **kwargs)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def outside(monkeypatch) -> list[str]:
    """Every attempt to look up or connect to a non-loopback host, refused at the socket layer."""
    seen: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not _loopback(name):
            seen.append(f"lookup {name}")
            raise socket.gaierror(socket.EAI_NONAME, "refused by the test's loopback guard")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock, address):
        if isinstance(address, tuple) and not _loopback(str(address[0])):
            seen.append(f"connect {address[0]}")
            raise ConnectionRefusedError("refused by the test's loopback guard")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen
