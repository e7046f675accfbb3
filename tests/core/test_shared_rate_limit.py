"""The rate-limit reset shared by every client of one token: in one process through a store,
and across real OS processes through a Django FileBasedCache (``RATE_LIMIT_CACHE``)."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from django.core.checks import run_checks
from django.test import override_settings

from django_trigger.clients import CacheRateLimitStore, get_client
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import RateLimitError

from .base import ClientTestCase

ROOT = Path(__file__).resolve().parents[2]


class DictStore:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def get_reset(self, key: str) -> int | None:
        return self.values.get(key)

    def set_reset(self, key: str, reset_ms: int, ttl: float) -> None:
        self.values[key] = reset_ms


class BrokenStore:
    def get_reset(self, key: str) -> int | None:
        raise ConnectionError("cache down")

    def set_reset(self, key: str, reset_ms: int, ttl: float) -> None:
        raise ConnectionError("cache down")


class SharedResetTests(ClientTestCase):
    def test_a_429_seen_by_one_client_makes_another_wait(self):
        store = DictStore()
        first = self.make_client(rate_limit_store=store, retry={"max_attempts": 1})
        second = self.make_client(rate_limit_store=store)
        self.emulator.faults.rate_limit_next(1, reset_after=0.5)
        with self.assertRaises(RateLimitError):
            first.runs.list(limit=1)
        [(key, reset_ms)] = store.values.items()
        self.assertNotIn(self.emulator.secret_key, key)
        digest = hashlib.sha256(self.emulator.secret_key.encode()).hexdigest()[:32]
        self.assertEqual(key, f"django_trigger:ratelimit:{digest}")
        self.assertEqual(str(reset_ms), self.journal.last().response_headers["x-ratelimit-reset"])
        with self.assertLogs("django_trigger.http", "INFO") as logs:
            second.runs.list(limit=1)
        self.assertGreaterEqual(time.time() * 1000, reset_ms)
        self.assertIn("shared rate-limit reset", logs.output[0])
        self.assertEqual(self.journal.count(path="/api/v1/runs"), 2)

    def test_a_retry_inside_a_call_shares_the_reset_too(self):
        store = DictStore()
        client = self.make_client(rate_limit_store=store)
        self.emulator.faults.rate_limit_next(1, reset_after=0.2)
        client.runs.list(limit=1)  # waited and retried itself
        self.assertEqual(len(store.values), 1)

    def test_a_wait_longer_than_the_limit_raises_at_once(self):
        store = DictStore()
        client = self.make_client(rate_limit_store=store)
        digest = hashlib.sha256(self.emulator.secret_key.encode()).hexdigest()[:32]
        store.values[f"django_trigger:ratelimit:{digest}"] = int((time.time() + 120) * 1000)
        started = time.monotonic()
        with self.assertRaises(RateLimitError) as ctx:
            client.runs.list(limit=1)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertIn("resets in 1", str(ctx.exception))  # 119.x s
        self.assertGreater(ctx.exception.seconds_until_reset, 100)
        self.assertEqual(self.journal.count(), 0)  # nothing was sent

    def test_other_tokens_are_not_held_back(self):
        store = DictStore()
        self.emulator.faults.rate_limit_next(1, reset_after=30)
        with self.assertRaises(RateLimitError):
            self.make_client(rate_limit_store=store, retry={"max_attempts": 1}).runs.list(limit=1)
        prod = self.make_client(self.emulator.secret_keys["prod"], rate_limit_store=store)
        started = time.monotonic()
        prod.runs.list(limit=1)
        self.assertLess(time.monotonic() - started, 1)

    def test_a_failing_store_never_breaks_a_call(self):
        client = self.make_client(rate_limit_store=BrokenStore())
        self.emulator.faults.rate_limit_next(1, reset_after=0.05)
        with self.assertLogs("django_trigger.http", "WARNING"):
            self.assertEqual(len(client.runs.list(limit=1).data), 1)


class SettingTests(ClientTestCase):
    def test_the_setting_builds_a_cache_store(self):
        caches = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "shared": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
        trigger = {"default": self.emulator.client_settings(RATE_LIMIT_CACHE="shared")}
        with override_settings(CACHES=caches, TRIGGER=trigger):
            store = get_client().rate_limit_store
            self.assertIsInstance(store, CacheRateLimitStore)
            self.assertEqual(store.alias, "shared")

    def test_an_unknown_cache_alias_is_a_check_error(self):
        for value in ("nope", 3, ""):
            with (
                self.subTest(value=value),
                override_settings(
                    TRIGGER={"default": self.emulator.client_settings(RATE_LIMIT_CACHE=value)}
                ),
            ):
                ids = [m.id for m in run_checks() if m.id.startswith("django_trigger")]
                if value == "":
                    self.assertNotIn("django_trigger.E021", ids)  # empty is unset
                    continue
                self.assertIn("django_trigger.E021", ids)
                problem = next(p for p in trigger_settings.problems if p.id.endswith("E021"))
                self.assertIn("RATE_LIMIT_CACHE", problem.message)


WORKER = textwrap.dedent("""
    import json, os, sys, time
    import django
    from django.conf import settings

    config = json.loads(os.environ["WORKER_CONFIG"])
    settings.configure(
        INSTALLED_APPS=["django_trigger"],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                            "LOCATION": config["cache_dir"]}},
        TRIGGER={"default": config["trigger"]},
        LOGGING_CONFIG=None,
    )
    django.setup()
    import logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from django_trigger import RateLimitError, get_client

    client = get_client()
    sys.stdin.readline()  # started and imported: call when the test says so
    start_ms = int(time.time() * 1000)
    try:
        client.runs.list(limit=1)
        outcome = "ok"
    except RateLimitError:
        outcome = "429"
    done_ms = int(time.time() * 1000)
    print(json.dumps({"outcome": outcome, "start_ms": start_ms, "done_ms": done_ms}), flush=True)
""")


class TwoProcessesTests(ClientTestCase):
    """Two web workers: separate OS processes sharing a FileBasedCache."""

    def worker(self, cache_dir: str, **trigger: object) -> subprocess.Popen:
        """A worker process, started and imported, that calls once it reads a line."""
        config = {
            "cache_dir": cache_dir,
            "trigger": self.emulator.client_settings(RATE_LIMIT_CACHE="default", **trigger),
        }
        env = {**os.environ, "WORKER_CONFIG": json.dumps(config), "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(self.stop, process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.communicate()

    def call(self, worker: subprocess.Popen) -> dict:
        """Tell ``worker`` to call; its answer as soon as it prints it."""
        worker.stdin.write("go\n")
        worker.stdin.flush()
        ready, _, _ = select.select([worker.stdout], [], [], 60)
        self.assertTrue(ready, "the worker did not answer within 60 s")
        line = worker.stdout.readline()
        self.assertTrue(line, worker.stderr.read() if worker.poll() is not None else "")
        return json.loads(line)

    def test_the_second_worker_waits_for_the_reset_the_first_saw(self):
        with tempfile.TemporaryDirectory() as cache_dir:
            first_worker = self.worker(cache_dir, RETRY={"MAX_ATTEMPTS": 1})
            second_worker = self.worker(cache_dir)  # Django imported while the first calls
            self.emulator.faults.rate_limit_next(1, reset_after=3.0)
            first = self.call(first_worker)
            self.assertEqual(first["outcome"], "429")
            second = self.call(second_worker)
            reset_ms = int(self.journal.entries[0].response_headers["x-ratelimit-reset"])
            self.assertLess(second["start_ms"], reset_ms)  # it called before the reset...
            self.assertEqual(second["outcome"], "ok")
            self.assertGreaterEqual(second["done_ms"], reset_ms)  # ...and waited for it
            _, log = second_worker.communicate(timeout=60)
            self.assertEqual(second_worker.returncode, 0, log)
            self.assertIn("shared rate-limit reset", log)
            self.assertNotIn(self.emulator.secret_key, log)
            self.assertEqual([e.status for e in self.journal.entries], [429, 200])
            files = [p.read_bytes() for p in Path(cache_dir).rglob("*") if p.is_file()]
            self.assertTrue(files)
            self.assertFalse(any(self.emulator.secret_key.encode() in f for f in files))
