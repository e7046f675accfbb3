"""The server itself: keep-alive, concurrency, lifecycle, reset, determinism of the seed."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import threading

import requests

from django_trigger.testing import Emulator

from .base import FROZEN_NOW, EmulatorCase


class KeepAliveTests(EmulatorCase):
    def test_one_connection_serves_many_requests(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        self.addCleanup(conn.close)
        headers = {
            "Authorization": f"Bearer {self.emu.secret_key}",
            "Content-Type": "application/json",
        }
        sockets = set()
        for i in range(5):
            body = json.dumps({"payload": {"i": i}}) if i % 2 else None
            method, path = ("POST", "/api/v1/tasks/t/trigger") if body else ("GET", "/api/v1/runs")
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
            self.assertIsNone(response.getheader("Connection"))
            self.assertEqual(response.version, 11)
            sockets.add(id(conn.sock))
        self.assertEqual(len(sockets), 1)

    def test_connection_close_is_honoured(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request(
            "GET", "/api/v1/runs", headers={"Connection": "close", "Authorization": "Bearer x"}
        )
        response = conn.getresponse()
        self.assertEqual(response.getheader("Connection"), "close")

    def test_concurrent_clients(self):
        results: list[int] = []
        lock = threading.Lock()

        def worker():
            with requests.Session() as session:
                for _ in range(15):
                    r = session.get(
                        self.emu.url("/api/v1/runs"),
                        timeout=10,
                        headers={"Authorization": f"Bearer {self.emu.secret_key}"},
                    )
                    with lock:
                        results.append(r.status_code)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(results, [200] * 90)
        self.assertEqual(self.emu.journal.count(), 90)

    def test_unknown_paths_and_methods(self):
        self.assertError(self.get("/api/v1/nothing-here"), 404, "Not found")
        response = self.call("DELETE", "/api/v1/runs")
        self.assertError(response, 405, "Method not allowed")
        self.assertEqual(response.headers["Allow"], "GET")


class RequestLoggerTests(EmulatorCase):
    def test_a_logger_sees_only_requests_that_arrived_after_it_was_set(self):
        # Set while the first request is in the app: that request's line (written after its
        # answer is sent, when the client may have gone on) must not reach it. Each next
        # request on the same connection is read by the same server thread once the previous
        # one is logged: after the third, the first two have been.
        seen: list[tuple[str, str, int]] = []
        dispatch = self.emu.app.dispatch

        def set_logger_meanwhile(request, entry=None):
            self.emu.set_request_logger(lambda *line: seen.append(line))
            return dispatch(request, entry)

        self.emu.app.dispatch = set_logger_meanwhile
        self.addCleanup(vars(self.emu.app).pop, "dispatch", None)
        self.addCleanup(self.emu.set_request_logger, None)
        opened = self.emu.connections_opened
        self.assertEqual(self.get("/api/v1/runs", params={"page[size]": 1}).status_code, 200)
        del self.emu.app.dispatch
        for size in (2, 3):
            self.assertEqual(self.get("/api/v1/runs", params={"page[size]": size}).status_code, 200)
        self.assertEqual(self.emu.connections_opened - opened, 1)  # one connection: ordered
        self.assertEqual(seen[0], ("GET", "/api/v1/runs?page%5Bsize%5D=2", 200))
        self.assertLessEqual(len(seen), 2)  # (the third's line may not be written yet)


class LifecycleTests(EmulatorCase):
    def test_stop_closes_idle_keep_alive_connections_and_restart_works(self):
        emu = Emulator(seed=9, runs=5).start()
        session = requests.Session()
        self.addCleanup(session.close)
        headers = {"Authorization": f"Bearer {emu.secret_key}"}
        self.assertEqual(session.get(emu.url("/api/v1/runs"), headers=headers).status_code, 200)
        thread = emu._thread
        emu.stop()
        self.assertFalse(thread.is_alive())
        self.assertFalse(emu.running)
        with self.assertRaises(RuntimeError):
            emu.base_url
        with self.assertRaises(requests.ConnectionError):
            session.get(f"http://127.0.0.1:{emu.port}/api/v1/runs", headers=headers, timeout=2)
        emu.stop()  # idempotent
        emu.port = 0
        with emu:
            self.assertEqual(
                requests.get(emu.url("/api/v1/runs"), headers=headers, timeout=5).status_code, 200
            )

    def test_starting_twice_is_an_error(self):
        with self.assertRaises(RuntimeError):
            self.emu.start()

    def test_reset_restores_the_seeded_world(self):
        keys = dict(self.emu.secret_keys)
        runs_before = [r.friendly_id for r in self.dev_runs()]
        self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}})
        self.emu.faults.fail_next(3)
        self.emu.reset()
        self.assertEqual(self.emu.secret_keys, keys)
        self.assertEqual([r.friendly_id for r in self.dev_runs()], runs_before)
        self.assertEqual((self.emu.journal.count(), self.emu.faults.pending), (0, 0))

    def test_client_settings(self):
        settings = self.emu.client_settings(TIMEOUT=3, RETRY={"MAX_ATTEMPTS": 2})
        self.assertEqual(
            settings,
            {
                "ACCESS_TOKEN": self.emu.secret_key,
                "API_URL": self.emu.base_url,
                "PROJECT_REF": self.emu.project_ref,
                "ENVIRONMENT": "dev",
                "TIMEOUT": 3,
                "RETRY": {"MIN_DELAY": 0.001, "MAX_DELAY": 0.01, "MAX_ATTEMPTS": 2},
            },
        )

    def test_invalid_constructor_arguments(self):
        for kwargs in (
            {"secret_key": "tr_prod_abcdefghijklmnopqrstuvwx"},
            {"access_token": "tr_dev_abcdefghijkl"},
            {"project_ref": "myproj"},
            {"runs": -1},
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(ValueError):
                Emulator(**kwargs)


class SeedTests(EmulatorCase):
    def snapshot(self, emu: Emulator) -> tuple:
        with emu.state.lock:
            runs = sorted(
                (r.friendly_id, r.status, r.task_identifier, r.created_at, r.payload)
                for r in emu.state.runs
            )
        return emu.secret_keys, emu.access_token, emu.project_ref, runs

    def test_same_seed_and_clock_give_the_same_world(self):
        a = Emulator(seed=4, runs=60, now=FROZEN_NOW)
        b = Emulator(seed=4, runs=60, now=FROZEN_NOW)
        c = Emulator(seed=5, runs=60, now=FROZEN_NOW)
        self.assertEqual(self.snapshot(a), self.snapshot(b))
        self.assertNotEqual(self.snapshot(a)[0], self.snapshot(c)[0])

    def test_ids_are_drawn_as_random_choice_draws_them(self):
        # IdFactory.chars draws with getrandbits directly (fast): the ids must stay those of
        # rng.choice per character, so a seed names the same objects as before.
        from django_trigger.testing.world import ID_ALPHABET, LOWER_ALNUM, IdFactory

        for seed, alphabet in [
            (1, ID_ALPHABET),
            (7, LOWER_ALNUM),
            (3, "ab"),
            (4, "x"),
            (5, "0123456789"),
        ]:
            ids = IdFactory(seed)
            expected = random.Random(f"{seed}:run")
            for length in (26, 24, 1, 40):
                with self.subTest(seed=seed, alphabet=alphabet, length=length):
                    self.assertEqual(
                        ids.chars("run", length, alphabet),
                        "".join(expected.choice(alphabet) for _ in range(length)),
                    )

    def test_given_keys_are_used(self):
        emu = Emulator(
            secret_key="tr_dev_" + "a" * 24,
            access_token="tr_pat_" + "b" * 40,
            project_ref="proj_" + "c" * 20,
            runs=1,
        )
        self.assertEqual(
            (emu.secret_keys["dev"], emu.access_token, emu.project_ref),
            ("tr_dev_" + "a" * 24, "tr_pat_" + "b" * 40, "proj_" + "c" * 20),
        )

    def test_seeded_runs_are_realistic(self):
        runs = self.dev_runs()
        self.assertEqual(len({r.status for r in runs}), 17)
        self.assertGreaterEqual(len({r.task_identifier for r in runs}), 5)
        self.assertGreaterEqual(len({r.version for r in runs if r.version}), 3)
        self.assertTrue(any(r.is_test for r in runs) and not all(r.is_test for r in runs))
        oldest = min(r.created_at for r in runs)
        self.assertGreater(FROZEN_NOW - oldest, dt.timedelta(days=28))
        self.assertTrue(any("<script>" in t for r in runs for t in r.tags))
        self.assertTrue(any("<script>" in (r.payload or "") for r in runs))
        self.assertTrue(any(not t.isascii() for r in runs for t in r.tags))
        self.assertTrue(any(r.delay_until and r.delay_until > FROZEN_NOW for r in runs))
        self.assertTrue(all(r.cost_in_cents == 0 for r in runs))  # dev runs cost nothing
        with self.emu.state.lock:
            prod = self.emu.state.runs.in_environment(
                self.emu.state.environment_for_key(self.emu.secret_keys["prod"]).id
            )
        self.assertGreaterEqual(len(prod), 60)  # 60 plus a couple of child runs
        self.assertTrue(any(r.cost_in_cents > 0 for r in prod))

    def test_run_count_is_configurable(self):
        emu = Emulator(seed=1, runs=2000, now=FROZEN_NOW)
        with emu.state.lock:
            dev = emu.state.environment_for_key(emu.secret_key)
            count = len(emu.state.runs.in_environment(dev.id))
        self.assertGreaterEqual(count, 2000)
