"""The test suite's network guard: tests talk only to the emulator on 127.0.0.1.

``install()`` (called by ``tests/__init__.py``, so in every process that imports the tests:
``runtests.py``, its parallel workers, plain ``pytest``) makes Python's socket module refuse
any connection to an address outside loopback (127.0.0.0/8, ::1) and any name resolution of a
name other than ``localhost`` (an address resolves as usual, its connection is checked; a
name under ``.invalid``, which RFC 6761 reserves as never resolving, fails as a resolver would
fail it, ``socket.gaierror``, without asking one). Unix sockets and
binding (servers on 127.0.0.1) are untouched. The refusal is a :class:`NetworkGuardError`,
raised before any packet is sent, naming ``host:port`` and the test that tried.

It is not an ``OSError``: urllib3, requests and httpx wrap an ``OSError`` met while
connecting into their connect errors, which the client retries (``NewConnectionError`` /
``httpx.ConnectError`` -> ``ApiConnectionError``); they and the clients let any other error
through, so the test fails with it at once (through anyio's connection task group, as an
exception group holding it). It is an ``Exception``, not a ``BaseException``: unittest
reports a ``BaseException`` raised in ``setUpClass`` by ending the run (a parallel worker
dies and the pool waits forever). A refusal in another thread (an emulator's request thread,
whose catch-all would answer 500) is also reported, after the test, as an error of the test
running at the time.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import unittest
from typing import Any

_LOOPBACK_NAMES = {"", "localhost", "localhost.", "localhost.localdomain", "ip6-localhost"}
_current_test: str | None = None
_refused: list[tuple[int, str]] = []  # (thread, message) of this process's refusals
_installed = False


class NetworkGuardError(Exception):
    """A test tried to reach a host outside loopback (see ``tests/netguard.py``)."""


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").split("%", 1)[0]  # [::1], fe80::1%eth0
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _test_name() -> str:
    return _current_test or os.environ.get("PYTEST_CURRENT_TEST", "").split(" (")[0] or "?"


def _refuse(what: str, host: Any, port: Any) -> NetworkGuardError:
    message = (
        f"network guard: {what} {host}:{port} refused in test {_test_name()}: the tests "
        "talk only to loopback (the emulator on 127.0.0.1); see docs/development.md"
    )
    _refused.append((threading.get_ident(), message))
    return NetworkGuardError(message)


def _check_address(family: int, address: Any) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return  # Unix sockets and the like
    host, port = address[0], address[1]
    if not _is_loopback(str(host)):
        raise _refuse("connection to", host, port)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex


def _connect(self: socket.socket, address: Any) -> None:
    _check_address(self.family, address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self.family, address)
    return _real_connect_ex(self, address)


def _check_name(host: Any, port: Any = None) -> None:
    if host is None:  # getaddrinfo(None, port): the local wildcard or loopback address
        return
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    if name.rstrip(".").lower().endswith(".invalid"):
        # RFC 6761: never resolves; answered here as a resolver would, without asking one
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if not _is_loopback(name) and not _is_address(name):  # an address: its connect is checked
        raise _refuse("name resolution of", name, port)


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    _check_name(host, port)
    return _real_getaddrinfo(host, port, *args, **kwargs)


def _gethostbyname(host: str) -> str:
    _check_name(host)
    return _real_gethostbyname(host)


def _gethostbyname_ex(host: str) -> Any:
    _check_name(host)
    return _real_gethostbyname_ex(host)


_real_run = unittest.TestCase.run


def _run(self: unittest.TestCase, result: Any = None) -> Any:
    """``TestCase.run`` (both runners go through it) that names the test for the guard's
    message and reports, as an error of the test, a refusal raised in another thread."""
    global _current_test
    _current_test, seen, here = self.id(), len(_refused), threading.get_ident()
    try:
        outcome = _real_run(self, result)
    finally:
        _current_test = None
    elsewhere = [message for thread, message in _refused[seen:] if thread != here]
    if elsewhere and result is not None:
        try:
            raise NetworkGuardError("; ".join(elsewhere))
        except NetworkGuardError:
            result.addError(self, sys.exc_info())
    return outcome


def install() -> None:
    """Guard this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex
    unittest.TestCase.run = _run  # type: ignore[method-assign]
