"""Limits of one call, over real HTTP: the overall deadline (trickled bodies, retries,
stalls), the 404 retry budget, the decoded-size cap (a gzip bomb), deeply nested JSON, and
connection errors that say what happened."""

from __future__ import annotations

import datetime
import gzip
import json
import re
import socket
import threading
import time
import tracemalloc
import zlib

from django.test import SimpleTestCase, override_settings

from django_trigger.client import TriggerClient
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiResponseTooLargeError,
    ApiSchemaValidationError,
    ApiTimeoutError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
)

from .base import ClientTestCase

MISSING_RUN = "run_doesnotexist0000000000"


def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzip-compressed a megabyte at a time (~1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(inflated // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DeadlineTests(ClientTestCase):
    def first_run_id(self) -> str:
        return self.trigger.runs.list(limit=1).data[0].id

    def test_a_trickled_body_stops_at_the_deadline(self):
        run_id = self.first_run_id()
        # Each byte comes well within the read timeout: only the deadline can stop this.
        self.emulator.faults.trickle_next(1, interval=0.3, path=f"/api/v3/runs/{run_id}")
        client = self.make_client(timeout=0.8, deadline=1.5)
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            client.runs.retrieve(run_id)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 2.0)
        self.assertGreater(elapsed, 1.2)
        self.assertRegex(
            ctx.exception.message,
            r"^Deadline of 1\.5s reached after 1 attempt "
            r"\(reading the response from 127\.0\.0\.1:\d+\)\.$",
        )

    def test_a_retry_whose_sleep_would_end_past_the_deadline_is_not_made(self):
        self.emulator.faults.fail_next(5, 503)
        client = self.make_client(retry={"min_delay": 1.0, "max_delay": 30.0}, deadline=2.0)
        started = time.monotonic()
        with self.assertRaises(InternalServerError):
            client.runs.list(limit=1)
        # Sleeps of 1 s then 1.6 s: the second would end at ~2.6 s > 2 s, so it is not slept.
        self.assertLess(time.monotonic() - started, 1.6)
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 2)

    def test_the_trickled_body_of_an_answer_being_retried_stays_within_the_deadline(self):
        # urllib3 would read the whole 503 body (a byte every 0.3 s: ~9 s) before retrying.
        self.emulator.faults.trickle_next(1, 0.3, status=503, path="/api/v1/runs")
        client = self.make_client(deadline=1.5)
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            client.runs.list(limit=1)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertIn("Deadline of 1.5s reached after 1 attempt", ctx.exception.message)
        # (requests stalled by an earlier test may land in the journal late)
        sent = [e for e in self.journal.entries if e.path == "/api/v1/runs" and e.fault != "stall"]
        self.assertEqual([e.fault for e in sent], ["trickle"])

    def test_retried_answers_keep_their_connection(self):
        client = self.make_client()
        client.runs.list(limit=1)
        opened = self.emulator.connections_opened
        self.emulator.faults.fail_next(2, 503)
        client.runs.list(limit=1)
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 4)
        self.assertEqual(self.emulator.connections_opened, opened)  # bodies read, then reused

    def test_read_timeouts_are_clamped_to_the_time_left(self):
        self.emulator.faults.stall_next(5, 3.0)
        client = self.make_client(timeout=1.0, deadline=1.5)
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            client.runs.list(limit=1)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertRegex(
            ctx.exception.message,
            r"^Deadline of 1\.5s reached after 2 attempts \(last: Read timeout: "
            r"127\.0\.0\.1:\d+ did not answer in time\)\.$",
        )

    def test_per_request_deadline(self):
        self.emulator.faults.stall_next(1, 3.0)
        started = time.monotonic()
        with self.assertRaises(ApiTimeoutError) as ctx:
            self.trigger.runs.list(limit=1, request_options={"deadline": 0.5})
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertIn("Deadline of 0.5s reached after 1 attempt", ctx.exception.message)

    def test_an_unsafe_call_stopped_by_the_deadline_has_an_unknown_outcome(self):
        run_id = self.trigger.runs.list(limit=1).data[0].id
        self.emulator.faults.stall_next(1, 3.0, path=f"/api/v1/runs/{run_id}/replay")
        with self.assertRaises(OutcomeUnknownError) as ctx:
            self.trigger.runs.replay(run_id, request_options={"deadline": 0.5})
        self.assertIsInstance(ctx.exception, ApiTimeoutError)
        self.assertIn(
            "the call's deadline (0.5 s) passed after the request was sent", ctx.exception.message
        )

    def test_a_refused_connection_near_the_deadline_says_refused(self):
        client = TriggerClient(
            self.emulator.secret_key,
            base_url=f"http://127.0.0.1:{closed_port()}",
            retry={"min_delay": 0.4},
            deadline=1.0,
        )
        self.addCleanup(client.close)
        with self.assertRaises(ApiConnectionError) as ctx:
            client.runs.list(limit=1)
        self.assertNotIsInstance(ctx.exception, ApiTimeoutError)
        self.assertRegex(
            ctx.exception.message,
            r"^Connection refused by 127\.0\.0\.1:\d+ "
            r"\(after 2 attempts; no time for another before the 1s deadline\)\.$",
        )

    def test_a_deadline_is_positive_and_finite(self):
        for bad in (0, -1, float("inf"), None, "10"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                self.make_client(deadline=bad)
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.list(request_options={"deadline": 0})
        self.assertEqual(self.journal.count(), 0)

    def test_settings_key_and_check(self):
        token = self.emulator.secret_key
        with override_settings(TRIGGER={"default": {"ACCESS_TOKEN": token, "DEADLINE": 15}}):
            self.assertEqual(trigger_settings.get()["DEADLINE"], 15.0)
            self.assertEqual(trigger_settings.get().client_kwargs()["deadline"], 15.0)
        bad = {
            "ACCESS_TOKEN": token,
            "DEADLINE": "soon",
            "NOT_FOUND_RETRY_BUDGET": -1,
            "MAX_RESPONSE_SIZE": 0,
            "POOL_MAXSIZE": 2.5,
            "ADMIN_DEADLINE": 0,
        }
        with override_settings(TRIGGER={"default": bad}):
            self.assertEqual(
                sorted((p.id, p.message.split("'")[3]) for p in trigger_settings.problems),
                [
                    ("django_trigger.E011", "ADMIN_DEADLINE"),
                    ("django_trigger.E011", "DEADLINE"),
                    ("django_trigger.E017", "NOT_FOUND_RETRY_BUDGET"),
                    ("django_trigger.E018", "MAX_RESPONSE_SIZE"),
                    ("django_trigger.E018", "POOL_MAXSIZE"),
                ],
            )


class NotFoundBudgetTests(ClientTestCase):
    def default_retry_client(self, **overrides):
        return self.make_client(retry={}, **overrides)  # the SDK's 1, 1.6, 2.56 s ladder

    def test_an_unknown_run_is_not_found_quickly(self):
        client = self.default_retry_client()
        started = time.monotonic()
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            with self.assertRaises(NotFoundError):
                client.runs.retrieve(MISSING_RUN)
        elapsed = time.monotonic() - started
        # The waits the client chose fit the 1 s budget (the SDK's ladder waits 1 + 1.6 + 2.56 s,
        # ~9 s in all); counted from its log, so a loaded machine's slow requests do not matter.
        waits = [
            float(m) for m in re.findall(r"Retrying GET \S+ in ([0-9.]+)s", "\n".join(logs.output))
        ]
        self.assertGreaterEqual(len(waits), 2)
        self.assertLessEqual(sum(waits), 1.0)
        self.assertLess(elapsed, 2.6)  # under the ladder's first two waits, even under load
        self.assertEqual(self.journal.count(path=f"/api/v3/runs/{MISSING_RUN}"), len(waits) + 1)

    def test_a_run_that_appears_shortly_after_is_found(self):
        run_id = self.trigger.runs.list(limit=1).data[0].id
        world = self.emulator.state
        with world.lock:
            run = world.runs.by_id.pop(run_id)  # read-after-write lag: not visible yet

        def appear():
            time.sleep(0.3)
            with world.lock:
                world.runs.by_id[run_id] = run

        thread = threading.Thread(target=appear)
        thread.start()
        self.addCleanup(thread.join)
        self.assertEqual(self.default_retry_client().runs.retrieve(run_id).id, run_id)
        self.assertGreaterEqual(self.journal.count(path=f"/api/v3/runs/{run_id}"), 2)

    def test_budget_zero_means_no_404_retry_and_other_statuses_keep_the_ladder(self):
        client = self.default_retry_client(not_found_retry_budget=0)
        with self.assertRaises(NotFoundError):
            client.runs.retrieve(MISSING_RUN)
        self.assertEqual(self.journal.count(path=f"/api/v3/runs/{MISSING_RUN}"), 1)
        self.journal.clear()
        with self.assertRaises(NotFoundError):
            self.trigger.runs.retrieve(
                MISSING_RUN, request_options={"not_found_retry_budget": 0.05}
            )
        self.assertGreaterEqual(self.journal.count(), 2)
        with self.assertRaises(InvalidRequestError):
            self.trigger.runs.retrieve(MISSING_RUN, request_options={"not_found_retry_budget": -1})


class ResponseSizeTests(ClientTestCase):
    def test_a_gzip_bomb_is_stopped_at_the_cap_without_inflating_it(self):
        bomb = gzip_bomb(200 * 1024 * 1024)
        self.assertLess(len(bomb), 300 * 1024)
        for cap, limit in ((None, 40 * 1024 * 1024), (1024 * 1024, 4 * 1024 * 1024)):
            with self.subTest(cap=cap):
                self.emulator.faults.respond_next(
                    1, content=bomb, headers={"Content-Encoding": "gzip"}, path="/api/v1/runs"
                )
                client = (
                    self.make_client() if cap is None else self.make_client(max_response_size=cap)
                )
                tracemalloc.start()
                try:
                    with self.assertRaises(ApiResponseTooLargeError) as ctx:
                        client.runs.list(limit=1)
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                self.assertLess(peak, limit)  # inflating it whole took 571 MB
                self.assertEqual(ctx.exception.status, 200)
                self.assertIn(
                    f"({client.max_response_size:,} bytes decoded)", ctx.exception.message
                )

    def test_gzip_answers_within_the_cap_are_decoded(self):
        real = self.trigger.runs.with_raw_response.list(limit=2).json()
        compressed = gzip.compress(json.dumps(real).encode())
        self.emulator.faults.respond_next(
            1, content=compressed, headers={"Content-Encoding": "gzip"}, path="/api/v1/runs"
        )
        page = self.trigger.runs.list(limit=2)
        self.assertEqual([run.id for run in page.data], [run["id"] for run in real["data"]])

    def test_the_cap_is_validated(self):
        for bad in (0, -5, 1.5, "1MB"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                self.make_client(max_response_size=bad)


class DeepJsonTests(ClientTestCase):
    DEEP = "[" * 100_000 + "]" * 100_000

    def test_a_deep_2xx_body_is_a_schema_error(self):
        self.emulator.faults.respond_next(1, text=self.DEEP, path="/api/v1/runs")
        with self.assertRaises(ApiSchemaValidationError) as ctx:
            self.trigger.runs.list(limit=1)
        self.assertIn("nested too deeply", ctx.exception.message)

    def test_a_deep_error_body_keeps_the_status_error(self):
        self.emulator.faults.respond_next(1, 400, text=self.DEEP, path="/api/v1/runs")
        with self.assertRaises(BadRequestError) as ctx:
            self.trigger.runs.list(limit=1)
        self.assertEqual(ctx.exception.status, 400)

    def test_raw_response_json_raises_value_error(self):
        self.emulator.faults.respond_next(1, text=self.DEEP, path="/api/v1/runs")
        raw = self.trigger.runs.with_raw_response.list(limit=1)
        with self.assertRaisesMessage(ValueError, "nested too deeply"):
            raw.json()


class ConnectionErrorMessageTests(ClientTestCase):
    def no_retry(self, base_url: str, **options) -> TriggerClient:
        options.setdefault("retry", {"max_attempts": 1})
        client = TriggerClient(self.emulator.secret_key, base_url=base_url, **options)
        self.addCleanup(client.close)
        return client

    def assertMessage(self, client, expected, error_class=ApiConnectionError, **kwargs):
        with self.assertRaises(error_class) as ctx:
            client.runs.list(limit=1, tag=["secret-tag"], **kwargs)
        message = str(ctx.exception)
        self.assertRegex(message, expected)
        for secret in (self.emulator.secret_key, "secret-tag", "page%5B", "?"):
            self.assertNotIn(secret, message)
        return ctx.exception

    def test_refused(self):
        port = closed_port()
        error = self.assertMessage(
            self.no_retry(f"http://127.0.0.1:{port}"),
            rf"^Connection refused by 127\.0\.0\.1:{port}\. ",
        )
        self.assertNotIsInstance(error, ApiTimeoutError)

    def test_dns_failure(self):
        client = self.no_retry("http://no-such-host.invalid", connect_timeout=2.0)
        self.assertMessage(
            client,
            r"^DNS lookup failed for no-such-host\.invalid:80: the host "
            r"name does not resolve\. ",
        )

    def test_read_timeout(self):
        self.emulator.faults.stall_next(1, 2.0)
        self.assertMessage(
            self.no_retry(self.emulator.base_url, timeout=0.2),
            r"^Read timeout: 127\.0\.0\.1:\d+ did not answer in time\. ",
            ApiTimeoutError,
        )

    def test_dropped(self):
        self.emulator.faults.drop_next(2)
        self.assertMessage(
            self.no_retry(self.emulator.base_url, retry={"max_attempts": 2, "min_delay": 0.001}),
            r"^Connection dropped by 127\.0\.0\.1:\d+ before the answer was "
            r"complete \(after 2 attempts\)\. ",
        )

    def test_tls_to_a_plain_http_server(self):
        url = self.emulator.base_url.replace("http://", "https://")
        self.assertMessage(
            self.no_retry(url),
            r"^TLS error talking to 127\.0\.0\.1:\d+: "
            r"[A-Z_]+\. ",
        )


class PoolTests(ClientTestCase):
    def hammer(self, client: TriggerClient, threads: int = 16, calls: int = 5) -> None:
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def work():
            try:
                barrier.wait()
                for _ in range(calls):
                    client.runs.list(limit=1)
            except BaseException as exc:  # reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.assertEqual(errors, [])

    def test_sixteen_threads_share_one_client_without_discarding_connections(self):
        client = self.make_client()
        opened = self.emulator.connections_opened
        with self.assertNoLogs("urllib3", "WARNING"):
            self.hammer(client)
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 80)
        self.assertLessEqual(self.emulator.connections_opened - opened, 16)  # then reused

    def test_a_small_pool_discards_connections(self):  # what the default avoids
        client = self.make_client(pool_maxsize=2)
        with self.assertLogs("urllib3", "WARNING") as logs:
            self.hammer(client)
        self.assertIn("Connection pool is full", "\n".join(logs.output))


class TechnicalErrorPageTests(ClientTestCase):
    """DEBUG=True's technical 500 page prints every frame's local variables."""

    def render_500(self, call) -> str:
        from django.test import RequestFactory
        from django.views.debug import technical_500_response

        try:
            call()
        except Exception:
            import sys

            response = technical_500_response(RequestFactory().get("/"), *sys.exc_info())
        else:
            self.fail("the call did not fail")
        return response.content.decode()

    def assertNoToken(self, html: str) -> None:
        token = self.emulator.secret_key
        # (assertFalse: a page of 100 KB is no help in a failure message)
        self.assertFalse(token[7:] in html, "the token is on the technical 500 page")
        self.assertIn("Local vars", html)

    def test_a_status_error_from_a_real_call(self):
        html = self.render_500(
            lambda: self.trigger.runs.retrieve(
                MISSING_RUN, request_options={"not_found_retry_budget": 0}
            )
        )
        self.assertNoToken(html)
        self.assertIn("send_headers", html)  # the transport's frame is on the page

    def test_a_connection_error_through_requests_and_urllib3(self):
        self.emulator.faults.drop_next(1)
        html = self.render_500(
            lambda: self.trigger.runs.list(limit=1, request_options={"retry": {"max_attempts": 1}})
        )
        self.assertNoToken(html)
        # requests' and urllib3's frames, whose locals hold the request headers, are shown
        # with the Authorization value redacted.
        self.assertIn("urlopen", html)
        self.assertIn("Bearer tr_dev_…" + self.emulator.secret_key[-4:], html)

    def test_repr_and_vars_never_show_the_token(self):
        token = self.emulator.secret_key
        raw = self.trigger.runs.with_raw_response.list(limit=1)
        with self.assertRaises(NotFoundError) as ctx:
            self.trigger.runs.retrieve(MISSING_RUN, request_options={"not_found_retry_budget": 0})
        transport = self.trigger._transport
        for obj in (self.trigger, transport, transport._auth, raw, ctx.exception):
            with self.subTest(obj=type(obj).__name__):
                self.assertNotIn(token, repr(obj))
                self.assertNotIn(token, repr(vars(obj)))
        self.assertNotIn(token, repr(vars(raw.http_response.request)))


class RepeatedCursorTests(ClientTestCase):
    def page_body(self, next_cursor: str) -> dict:
        body = self.trigger.runs.with_raw_response.list(limit=2).json()
        body["pagination"] = {"next": next_cursor}
        return body

    def test_the_same_next_cursor_again_stops_the_listing(self):
        body = self.page_body("fixed")
        self.journal.clear()
        self.emulator.faults.respond_next(5, body=body, path="/api/v1/runs")
        with self.assertRaisesMessage(
            ApiSchemaValidationError, "the API pointed again to cursor 'fixed'"
        ):
            list(self.trigger.runs.list(limit=2))
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 2)
        page = self.trigger.runs.list(limit=2, after="fixed")
        with self.assertRaises(ApiSchemaValidationError):
            page.get_next_page()  # asked directly, too

    def test_a_cycle_of_cursors_stops_the_listing(self):
        bodies = [self.page_body(cursor) for cursor in ("A", "B", "A")]
        self.journal.clear()
        for body in bodies:
            self.emulator.faults.respond_next(1, body=body, path="/api/v1/runs")
        with self.assertRaisesMessage(ApiSchemaValidationError, "cursor 'A'"):
            list(self.trigger.runs.list(limit=2))
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 3)

    def test_an_offset_list_stuck_on_one_page_stops(self):
        body = self.trigger.schedules.with_raw_response.list(per_page=1).json()
        body["pagination"] = {"currentPage": 1, "totalPages": 3, "count": 3}
        self.journal.clear()
        self.emulator.faults.respond_next(3, body=body, path="/api/v1/schedules")
        with self.assertRaisesMessage(ApiSchemaValidationError, "page 2"):
            list(self.trigger.schedules.list(per_page=1))
        self.assertEqual(self.journal.count(path="/api/v1/schedules"), 2)


class DeepJsonElsewhereTests(SimpleTestCase):  # decoding only: no emulator
    DEEP = "[" * 100_000 + "]" * 100_000

    def test_a_waitpoint_packet_nested_too_deeply_is_a_value_error(self):
        from django_trigger.types.waitpoints import WaitpointTokenDetail, WaitpointTokenStatus

        token = WaitpointTokenDetail(
            id="waitpoint_x",
            url="https://example.com/x",
            status=WaitpointTokenStatus.COMPLETED,
            created_at=datetime.datetime.now(datetime.timezone.utc),
            output=self.DEEP,
            output_type="application/json",
        )
        with self.assertRaisesMessage(ValueError, "nested too deeply"):
            token.data

    def test_a_signed_webhook_nested_too_deeply_is_an_invalid_payload(self):
        from django_trigger.webhooks.verify import InvalidPayloadError, construct_event, sign

        body = self.DEEP.encode()
        with self.assertRaises(InvalidPayloadError):
            construct_event(body, sign(body, "s3cret"), "s3cret")
