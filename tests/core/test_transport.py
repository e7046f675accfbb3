"""Headers, idempotency keys, timeouts and secrecy, observed on the emulator's journal."""

from __future__ import annotations

import logging
from typing import Any

import requests

from django_trigger import __version__
from django_trigger._http.retry import RetrySafety
from django_trigger.client import TriggerClient
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
)

from .base import ClientTestCase


class HeaderTests(ClientTestCase):
    def test_sdk_headers_on_every_call(self):
        self.trigger.runs.list(limit=1)
        headers = self.journal.last().headers
        self.assertEqual(headers["x-trigger-api-version"], "2025-07-16")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertTrue(headers["authorization"].startswith("Bearer tr_dev_"))
        self.assertEqual(headers["user-agent"].split(" ")[0], f"django-trigger/{__version__}")
        self.assertIn("x-trigger-source", headers)
        self.assertNotIn("x-trigger-branch", headers)

    def test_branch_header_when_configured(self):
        client = self.make_client(
            self.emulator.secret_keys["preview"], preview_branch="feature-login"
        )
        client.runs.list(limit=1)
        self.assertEqual(self.journal.last().headers["x-trigger-branch"], "feature-login")

    def test_extra_headers_from_client_and_call(self):
        client = self.make_client(headers={"x-team": "payments"})
        client.runs.list(limit=1, request_options={"headers": {"x-call": "1"}})
        headers = self.journal.last().headers
        self.assertEqual(headers["x-team"], "payments")
        self.assertEqual(headers["x-call"], "1")

    def test_one_idempotency_key_per_call(self):
        self.trigger.runs.list(limit=1)
        self.trigger.runs.list(limit=1)
        first, second = self.journal.entries[-2:]
        key1 = first.headers["x-trigger-request-idempotency-key"]
        key2 = second.headers["x-trigger-request-idempotency-key"]
        self.assertTrue(key1 and key2)
        self.assertNotEqual(key1, key2)

    def test_authorization_header_cannot_be_overridden_by_config(self):
        with self.assertRaises(ConfigurationError):
            self.make_client(headers={"Authorization": "Bearer other"})


class SecrecyTests(ClientTestCase):
    def test_token_not_in_repr_or_errors(self):
        token = self.emulator.secret_key
        self.assertNotIn(token, repr(self.trigger))
        self.assertIn(token[-4:], repr(self.trigger))
        bad = self.make_client("tr_dev_" + "x" * 24)
        with self.assertRaises(AuthenticationError) as ctx:
            bad.runs.list(limit=1)
        error = ctx.exception
        for text in (str(error), repr(error), str(error.body), str(error.headers)):
            self.assertNotIn("x" * 24, text)
        self.assertEqual(error.status, 401)

    def test_token_not_in_logs(self):
        with self.assertLogs("django_trigger", level=logging.DEBUG) as logs:
            self.emulator.faults.fail_next(1, 503)
            self.trigger.runs.list(limit=1)
        output = "\n".join(logs.output)
        self.assertIn("Retrying GET /api/v1/runs", output)
        self.assertNotIn(self.emulator.secret_key, output)
        self.assertNotIn("page%5Bsize%5D", output)  # no query strings in logs

    def test_journal_masks_the_token(self):
        self.trigger.runs.list(limit=1)
        self.assertNotIn(self.emulator.secret_key, str(self.journal.last().headers))


class TimeoutTests(ClientTestCase):
    def test_read_timeout_after_retries(self):
        self.emulator.faults.stall_next(3, 2.0)
        client = self.make_client(timeout=0.2, retry={"max_attempts": 2, "min_delay": 0.001})
        with self.assertRaises(ApiTimeoutError) as ctx:
            client.runs.list(limit=1)
        self.assertIsNone(ctx.exception.status)
        self.assertRegex(
            str(ctx.exception),
            r"^Read timeout: 127\.0\.0\.1:\d+ did not answer in "
            r"time \(after 2 attempts\)\. \(GET /api/v1/runs\)$",
        )

    def test_per_call_timeout(self):
        self.emulator.faults.stall_next(1, 2.0)
        with self.assertRaises(ApiTimeoutError):
            self.trigger.runs.list(
                limit=1, request_options={"timeout": 0.2, "retry": {"max_attempts": 1}}
            )

    def test_timeouts_are_never_infinite(self):
        with self.assertRaises(ConfigurationError):
            self.make_client(timeout=None)
        with self.assertRaises(ConfigurationError):
            self.make_client(timeout=float("inf"))
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(request_options={"timeout": 0})
        self.assertEqual(self.journal.count(), 0)

    def test_connection_refused(self):
        client = TriggerClient(
            self.emulator.secret_key,
            base_url="http://127.0.0.1:9",
            retry={"max_attempts": 2, "min_delay": 0.001},
        )
        with self.assertRaises(ApiConnectionError) as ctx:
            client.runs.list(limit=1)
        self.assertNotIsInstance(ctx.exception, ApiTimeoutError)
        self.assertEqual(
            ctx.exception.message, "Connection refused by 127.0.0.1:9 (after 2 attempts)."
        )


class RequestOptionTests(ClientTestCase):
    def test_unknown_request_option_is_refused_before_sending(self):
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(request_options={"retries": 1})
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(request_options={"retry": {"attempts": 1}})
        self.assertEqual(self.journal.count(), 0)

    def test_with_options_leaves_the_original_alone(self):
        other = self.trigger.with_options(timeout=1.0, headers={"x-a": "b"})
        self.assertEqual(other.timeout, 1.0)
        self.assertEqual(self.trigger.timeout, 5.0)
        other.runs.list(limit=1)
        self.assertEqual(self.journal.last().headers["x-a"], "b")
        self.trigger.runs.list(limit=1)
        self.assertNotIn("x-a", self.journal.last().headers)


class PreparedRequestTests(ClientTestCase):
    """The transport prepares each request itself (``Transport._send``): what it sends is what
    ``Session.request`` would have prepared from the same call."""

    def assertSentAsSessionRequestWould(self, raw: Any, **call: Any) -> None:
        sent = raw.http_response.request
        transport = self.trigger._transport
        safety = RetrySafety.READ if sent.method == "GET" else RetrySafety.UNSAFE
        session = transport.session(transport.retry, safety)
        headers = {k: v for k, v in sent.headers.items() if k != "Authorization"}
        headers.pop("Content-Length", None)
        expected = session.prepare_request(
            requests.Request(
                sent.method,
                call["url"],
                params=call.get("params") or {},
                data=call.get("data") or {},
                headers={**headers, **call.get("extra", {})},
                auth=transport._auth,
            )
        )
        self.assertEqual(sent.url, expected.url)
        self.assertEqual(sent.body, expected.body)
        self.assertEqual(
            [(k, str(v)) for k, v in sent.headers.items()],
            [(k, str(v)) for k, v in expected.headers.items()],
        )

    def test_a_get_with_a_query(self):
        params = {"page[size]": "2", "filter[status]": "COMPLETED,FAILED", "x": "a b/ü"}
        raw = self.trigger._transport.request("GET", "/api/v1/runs", params=params)
        self.assertEqual(raw.status_code, 200)
        self.assertIn("page%5Bsize%5D=2", raw.http_response.request.url)
        self.assertSentAsSessionRequestWould(
            raw, url=self.emulator.base_url + "/api/v1/runs", params=params
        )

    def test_a_post_with_a_body_and_a_header_set_to_none(self):
        transport = self.trigger._transport
        session = transport.session(transport.retry, RetrySafety.UNSAFE)
        session.cookies.set("seen", "1")  # the session's cookies go out as before
        self.addCleanup(session.cookies.clear)
        raw = self.trigger._transport.request(
            "POST",
            "/api/v1/tasks/send-email/trigger",
            json_body={"payload": {"to": "ü@example.com"}},
            headers={"x-extra": "1", "Accept": None},  # None: not sent, as requests does
        )
        self.assertEqual(raw.status_code, 200)
        sent = raw.http_response.request
        self.assertNotIn("Accept", sent.headers)
        self.assertEqual(sent.headers["Cookie"], "seen=1")
        self.assertEqual(sent.headers["Content-Length"], str(len(sent.body)))
        self.assertSentAsSessionRequestWould(
            raw,
            url=self.emulator.base_url + "/api/v1/tasks/send-email/trigger",
            data=sent.body,
            extra={"Accept": None},
        )
