"""The suite's network guard (tests/netguard.py): nothing leaves loopback, and the refusal is a
test error, never a connect error the client retries."""

from __future__ import annotations

import asyncio
import socket
import threading
import unittest

from django.test import SimpleTestCase

from django_trigger import ApiConnectionError, AsyncTriggerClient, TriggerClient
from tests import netguard
from tests.core.base import FAST_RETRY, ClientTestCase
from tests.netguard import NetworkGuardError

PUBLIC = "203.0.113.1"  # TEST-NET-3: documentation only, never routed


def leaves(error: BaseException) -> list[type[BaseException]]:
    """The kinds of the errors in ``error``, an exception group (Python 3.10: the backport)."""
    inner = getattr(error, "exceptions", None)
    if inner is None:
        return [type(error)]
    return [kind for each in inner for kind in leaves(each)]


def refusals() -> int:
    return len(netguard._refused)


class SocketTests(SimpleTestCase):
    def test_a_connection_to_a_public_address_is_refused_before_it_is_tried(self):
        with socket.socket() as sock:
            sock.settimeout(30)  # were a packet sent, the test would hang, not fail at once
            with self.assertRaises(NetworkGuardError) as caught:
                sock.connect((PUBLIC, 443))
        message = str(caught.exception)
        self.assertIn(f"{PUBLIC}:443", message)
        self.assertIn(self.id(), message)
        with socket.socket() as sock, self.assertRaises(NetworkGuardError):
            sock.connect_ex((PUBLIC, 80))
        with socket.socket(socket.AF_INET6) as sock, self.assertRaises(NetworkGuardError):
            sock.connect(("2001:db8::1", 443, 0, 0))

    def test_a_public_name_is_not_resolved(self):
        for name, resolve in (
            ("example.com:443", lambda: socket.getaddrinfo("example.com", 443)),
            ("example.com:None", lambda: socket.gethostbyname("example.com")),
            ("example.com:None", lambda: socket.gethostbyname_ex("example.com")),
            ("api.trigger.dev:443", lambda: socket.create_connection(("api.trigger.dev", 443))),
        ):
            with self.subTest(name), self.assertRaises(NetworkGuardError) as caught:
                resolve()
            self.assertIn(
                f"name resolution of {name} refused in test {self.id()}", str(caught.exception)
            )

    def test_a_reserved_invalid_name_fails_as_a_resolver_fails_it(self):
        before = refusals()
        with self.assertRaises(socket.gaierror):
            socket.getaddrinfo("no-such-host.invalid", 80)
        self.assertEqual(refusals(), before)

    def test_loopback_and_unix_sockets_still_work(self):
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            port = server.getsockname()[1]
            for host in ("127.0.0.1", "localhost"):
                with socket.create_connection((host, port), timeout=5):
                    server.accept()[0].close()
        self.assertTrue(socket.getaddrinfo("localhost", 80))
        self.assertTrue(socket.getaddrinfo("127.0.0.2", 80))
        self.assertTrue(socket.getaddrinfo(None, 80))
        left, right = socket.socketpair(socket.AF_UNIX)
        with left, right:
            left.sendall(b"x")
            self.assertEqual(right.recv(1), b"x")

    def test_a_refusal_in_another_thread_is_an_error_of_the_running_test(self):
        def reach_out() -> None:
            try:
                socket.create_connection((PUBLIC, 443))
            except NetworkGuardError:
                pass  # recorded by the guard all the same

        class Inner(unittest.TestCase):
            def test_elsewhere(self) -> None:
                thread = threading.Thread(target=reach_out)
                thread.start()
                thread.join()

            def test_here(self) -> None:
                socket.create_connection((PUBLIC, 443))

        class InSetUpClass(unittest.TestCase):
            @classmethod
            def setUpClass(cls) -> None:
                socket.create_connection((PUBLIC, 443))

            def test_nothing(self) -> None:
                pass

        # A refusal in a class fixture is that class's error, and the run goes on.
        result, before = unittest.TestResult(), refusals()
        unittest.TestSuite([InSetUpClass("test_nothing")]).run(result)
        del netguard._refused[before:]
        [(_, trace)] = result.errors
        self.assertIn(f"network guard: connection to {PUBLIC}:443 refused", trace)

        for name in ("test_elsewhere", "test_here"):
            with self.subTest(name):
                result, before = unittest.TestResult(), refusals()
                Inner(name).run(result)
                del netguard._refused[before:]  # the inner test's, not this one's
                [(_, trace)] = result.errors  # once, not twice for a refusal in its thread
                self.assertIn(f"network guard: connection to {PUBLIC}:443 refused", trace)
                self.assertIn(f"Inner.{name}", trace)


class ClientTests(ClientTestCase):
    """The clients do not take the refusal for a connect error: no retry, no ApiConnectionError."""

    def test_the_sync_client_fails_at_once(self):
        for base_url in (f"https://{PUBLIC}", "https://api.example.com"):
            client = TriggerClient(
                self.emulator.secret_key, base_url=base_url, retry=FAST_RETRY, timeout=30
            )
            self.addCleanup(client.close)
            before = refusals()
            with self.subTest(base_url), self.assertRaises(NetworkGuardError):
                client.runs.retrieve("run_1234")
            self.assertEqual(refusals() - before, 1, "tried once, not retried")

    def test_the_async_client_fails_at_once(self):
        async def call(base_url: str) -> None:
            async with AsyncTriggerClient(
                self.emulator.secret_key, base_url=base_url, retry=FAST_RETRY, timeout=30
            ) as client:
                await client.runs.retrieve("run_1234")

        for base_url in (f"https://{PUBLIC}", "https://api.example.com"):
            before = refusals()
            with self.subTest(base_url):
                # anyio connects in a task group, which wraps what its task raised
                with self.assertRaises(BaseException) as caught:
                    asyncio.run(call(base_url))
                self.assertEqual(leaves(caught.exception), [NetworkGuardError])
            self.assertEqual(refusals() - before, 1, "tried once, not retried")
            # asyncio resolves names in an executor thread: the guard would report it again
            del netguard._refused[before:]

    def test_the_emulator_on_loopback_still_answers(self):
        self.assertTrue(self.trigger.runs.list(limit=1).data is not None)
        self.assertFalse(issubclass(NetworkGuardError, (OSError, ApiConnectionError)))
