"""Fault injection: status faults (incl. the real 429), dropped connections before and after
processing, stalls against a client timeout, latency, and the seeded fault rate."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.test import SimpleTestCase

from django_trigger.testing import Emulator
from django_trigger.testing.faults import Faults

from ..waiting import wait_until
from .base import FROZEN_NOW, EmulatorCase

FROZEN_MS = int(FROZEN_NOW.timestamp() * 1000)


class StatusFaultTests(EmulatorCase):
    def test_fail_next_answers_without_running_the_handler(self):
        self.emu.faults.fail_next(5, 503)
        for status in (503, 503):
            self.assertError(self.get("/api/v1/runs"), status, "Service Unavailable")
        self.emu.faults.clear()
        for status, phrase in (
            (500, "Internal Server Error"),
            (502, "Bad Gateway"),
            (408, "Request Timeout"),
            (409, "Conflict"),
        ):
            with self.subTest(status=status):
                self.emu.faults.fail_next(1, status)
                self.assertError(
                    self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}}),
                    status,
                    phrase,
                )
        self.assertEqual(self.emu.faults.pending, 0)
        self.assertEqual(self.get("/api/v1/runs").status_code, 200)
        self.assertEqual([e.fault for e in self.emu.journal.entries][-1], None)

    def test_extra_headers_path_and_method_filters(self):
        self.emu.faults.fail_next(
            1, 500, headers={"x-should-retry": "false"}, path="/api/v3/runs/*", method="GET"
        )
        self.assertEqual(self.get("/api/v1/runs").status_code, 200)
        self.assertEqual(self.post("/api/v2/runs/run_x/cancel").status_code, 404)
        failed = self.get("/api/v3/runs/run_x")
        self.assertEqual((failed.status_code, failed.headers["x-should-retry"]), (500, "false"))
        self.assertEqual(self.get("/api/v3/runs/run_x").status_code, 404)

    def test_query_filter_matches_each_given_parameters_last_value(self):
        self.emu.faults.fail_next(2, 503, path="/api/v1/runs", query={"page[after]": "c2"})
        self.assertEqual(self.get("/api/v1/runs").status_code, 200)
        self.assertEqual(self.get("/api/v1/runs?page%5Bafter%5D=c1").status_code, 200)
        self.assertEqual(
            self.get("/api/v1/runs?page%5Bafter%5D=c2&page%5Bsize%5D=5").status_code, 503
        )
        self.assertEqual(
            self.get("/api/v1/runs?page%5Bafter%5D=c1&page%5Bafter%5D=c2").status_code, 503
        )
        self.assertEqual(self.get("/api/v1/runs?page%5Bafter%5D=c2").status_code, 200)
        with self.assertRaises(TypeError):
            self.emu.faults.drop_next(1, query={"page[size]": 5})  # type: ignore[dict-item]

    def test_fail_after_processing_keeps_the_side_effect(self):
        before = len(self.dev_runs())
        self.emu.faults.fail_next(1, 502, after_processing=True)
        self.assertEqual(
            self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}}).status_code, 502
        )
        self.assertEqual(len(self.dev_runs()), before + 1)

    def test_rate_limit_next_is_the_real_429(self):
        self.emu.faults.rate_limit_next(1, reset_after=0.5)
        response = self.get("/api/v1/runs")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")
        detail = "Rate limit exceeded 0/750 requests remaining. Retry in 0.5 seconds."
        self.assertEqual(
            response.json(),
            {
                "title": "Rate Limit Exceeded",
                "status": 429,
                "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429",
                "detail": detail,
                "reset": FROZEN_MS + 500,
                "limit": 750,
                "remaining": 0,
                "secondsUntilReset": 0.5,
                "error": detail,
            },
        )
        self.assertEqual(
            (
                response.headers["x-ratelimit-limit"],
                response.headers["x-ratelimit-remaining"],
                response.headers["x-ratelimit-reset"],
            ),
            ("750", "0", str(FROZEN_MS + 500)),
        )
        self.emu.faults.fail_next(1, 429)
        self.assertEqual(self.get("/api/v1/runs").headers["x-ratelimit-reset"], str(FROZEN_MS + 50))

    def test_respond_next_sends_a_malformed_answer(self):
        self.emu.faults.respond_next(1, body={"unexpected": True}, path="/api/v3/runs/*")
        self.emu.faults.respond_next(
            1, 200, text="<html>proxy</html>", headers={"Content-Type": "text/html"}
        )
        answer = self.get("/api/v3/runs/run_x")
        self.assertEqual((answer.status_code, answer.json()), (200, {"unexpected": True}))
        answer = self.get("/api/v1/runs")
        self.assertEqual((answer.status_code, answer.text), (200, "<html>proxy</html>"))
        self.assertEqual(answer.headers["content-type"], "text/html")
        self.assertEqual(self.emu.journal.last().fault, "respond")
        self.assertEqual(self.get("/api/v1/runs").status_code, 200)
        with self.assertRaises(ValueError):
            self.emu.faults.respond_next(1)

    def test_invalid_fault_arguments(self):
        with self.assertRaises(ValueError):
            self.emu.faults.fail_next(1, 200)
        with self.assertRaises(ValueError):
            self.emu.faults.fail_next(0)
        with self.assertRaises(ValueError):
            self.emu.faults.set_fault_rate(1.5)


class ConnectionFaultTests(EmulatorCase):
    def test_drop_before_processing(self):
        before = len(self.dev_runs())
        self.emu.faults.drop_next(1, path="/api/v1/tasks/*")
        with self.assertRaises(requests.ConnectionError):
            self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}})
        self.assertEqual(len(self.dev_runs()), before)
        entry = self.emu.journal.last()
        self.assertEqual((entry.status, entry.fault), (None, "drop"))
        self.assertEqual(self.get("/api/v1/runs").status_code, 200)  # next request is fine

    def test_drop_after_processing(self):
        before = len(self.dev_runs())
        self.emu.faults.drop_next(1, after_processing=True)
        with self.assertRaises(requests.ConnectionError):
            self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}})
        self.assertEqual(len(self.dev_runs()), before + 1)

    def test_stall_outlasts_a_client_timeout(self):
        self.emu.faults.stall_next(1, seconds=2.0)
        started = time.perf_counter()
        with self.assertRaises(requests.exceptions.ReadTimeout):
            self.get("/api/v1/runs", timeout=0.2)
        self.assertLess(time.perf_counter() - started, 1.5)
        self.assertEqual(self.get("/api/v1/runs", timeout=2).status_code, 200)

    def test_stall_shorter_than_the_timeout_just_delays(self):
        self.emu.faults.stall_next(1, seconds=0.15)
        started = time.perf_counter()
        self.assertEqual(self.get("/api/v1/runs", timeout=5).status_code, 200)
        self.assertGreaterEqual(time.perf_counter() - started, 0.15)
        self.assertEqual(self.emu.journal.last().fault, "stall")

    def test_release_stalls_lets_the_held_requests_go_on(self):
        self.emu.faults.stall_next(2, seconds=60, path="/api/v1/runs")
        with ThreadPoolExecutor(2) as pool:
            held = [pool.submit(self.get, "/api/v1/runs", timeout=30) for _ in range(2)]
            self.assertTrue(wait_until(lambda: self.emu.faults.pending == 0))
            self.assertFalse(any(future.done() for future in held))
            started = time.perf_counter()
            self.emu.faults.release_stalls()
            self.assertEqual([future.result().status_code for future in held], [200, 200])
        self.assertLess(time.perf_counter() - started, 20)  # not the stall's 60 s
        self.assertEqual([e.fault for e in self.emu.journal.entries], ["stall", "stall"])
        # A stall taken after the release is held again.
        self.emu.faults.stall_next(1, seconds=60, path="/api/v1/runs")
        with self.assertRaises(requests.exceptions.ReadTimeout):
            self.get("/api/v1/runs", timeout=0.3)
        self.emu.faults.release_stalls()

    def test_latency(self):
        # Wide margins: a loaded machine (CI, parallel runs) slows a plain request too.
        self.emu.faults.latency(500)
        started = time.perf_counter()
        self.get("/api/v1/runs")
        self.assertGreaterEqual(time.perf_counter() - started, 0.5)
        self.emu.faults.clear()
        started = time.perf_counter()
        self.get("/api/v1/runs")
        self.assertLess(time.perf_counter() - started, 0.5)


class DeterminismTests(EmulatorCase):
    def statuses(self, n: int = 40) -> list[int]:
        return [self.get("/api/v1/runs", params={"page[size]": 1}).status_code for _ in range(n)]

    def test_fault_rate_sequence_repeats_with_the_seed(self):
        self.emu.faults.set_fault_rate(0.3, statuses=(500, 503))
        first = self.statuses()
        self.assertTrue({500, 503} <= set(first) and 200 in first)
        self.emu.faults.set_fault_rate(0.3, statuses=(500, 503))
        self.assertEqual(self.statuses(), first)
        self.emu.reset()
        self.assertEqual(set(self.statuses(10)), {200})

    def test_jitter_is_seeded(self):
        def delays(seed: int) -> list[float]:
            faults = Faults(seed)
            faults.latency(10, jitter_ms=20)
            return [faults.delay() for _ in range(5)]

        self.assertEqual(delays(1), delays(1))
        self.assertNotEqual(delays(1), delays(2))
        self.assertTrue(all(0.010 <= d <= 0.030 for d in delays(3)))

    def test_constructor_faults_survive_reset(self):
        emu = Emulator(seed=5, fault_rate=1.0, runs=3).start()
        self.addCleanup(emu.stop)
        url = emu.url("/api/v1/runs")
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        self.assertIn(requests.get(url, headers=headers, timeout=5).status_code, (500, 502, 503))
        emu.reset()
        self.assertIn(requests.get(url, headers=headers, timeout=5).status_code, (500, 502, 503))


class RateLimitEnforcementTests(EmulatorCase):
    emulator_kwargs = {"enforce_rate_limits": True, "runs": 3}

    def test_the_bucket_empties_and_refills(self):
        session = requests.Session()
        self.addCleanup(session.close)
        headers = {"Authorization": f"Bearer {self.emu.secret_key}"}
        url = self.emu.url("/api/v1/batches/batch_x")
        statuses = [session.get(url, headers=headers, timeout=5).status_code for _ in range(751)]
        self.assertEqual(statuses[:750], [404] * 750)
        self.assertEqual(statuses[750], 429)
        self.emu.clock.advance(10)
        self.assertEqual(session.get(url, headers=headers, timeout=5).status_code, 404)


class StopWhileStalledTests(SimpleTestCase):
    def test_stop_does_not_wait_for_a_stalled_request(self):
        emu = Emulator(seed=2, runs=3).start()
        self.addCleanup(emu.stop)
        emu.faults.stall_next(1, seconds=60)
        outcome = {}

        def call():
            try:
                requests.get(
                    emu.url("/api/v1/runs"),
                    timeout=30,
                    headers={"Authorization": f"Bearer {emu.secret_key}"},
                )
                outcome["result"] = "answered"
            except requests.RequestException as exc:
                outcome["result"] = type(exc).__name__

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 5
        while emu.faults.pending and time.monotonic() < deadline:  # until the stall began
            time.sleep(0.005)
        started = time.perf_counter()
        emu.stop()
        self.assertLess(time.perf_counter() - started, 2)
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertEqual(outcome["result"], "ConnectionError")
