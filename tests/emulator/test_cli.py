"""``python -m django_trigger.testing``: prints the URL and keys, serves until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests
from django.test import SimpleTestCase

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "django_trigger.testing", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # A watchdog, so a CLI that never prints cannot hang the suite while we read its output.
    watchdog = threading.Timer(30, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    return proc


class CliTests(SimpleTestCase):
    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)

    def test_serves_until_terminated(self):
        proc = run_cli(
            "--port", "0", "--seed", "3", "--runs", "10", "--secret-key", "tr_dev_" + "k" * 24
        )
        self.addCleanup(self.stop, proc)
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl+C"):
                break
        values = dict(line.split("=", 1) for line in lines if line.startswith("TRIGGER_"))
        base_url = values["TRIGGER_API_URL"]
        self.assertRegex(base_url, r"^http://127\.0\.0\.1:\d+$")
        self.assertEqual(values["TRIGGER_SECRET_KEY"], "tr_dev_" + "k" * 24)
        self.assertTrue(values["TRIGGER_ACCESS_TOKEN"].startswith("tr_pat_"))
        self.assertTrue(values["TRIGGER_PROJECT_REF"].startswith("proj_"))
        self.assertIn("(seed 3)", lines[0])
        response = requests.get(
            f"{base_url}/api/v1/runs",
            timeout=5,
            headers={"Authorization": "Bearer tr_dev_" + "k" * 24},
        )
        self.assertEqual(response.status_code, 200)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("Stopped.", out)

    def test_same_seed_prints_the_same_keys(self):
        outputs = []
        for _ in range(2):
            proc = run_cli("--port", "0", "--seed", "42", "--runs", "1")
            self.addCleanup(self.stop, proc)
            keys = []
            for line in proc.stdout:
                if line.startswith(
                    ("TRIGGER_SECRET_KEY", "TRIGGER_ACCESS_TOKEN", "TRIGGER_PROJECT_REF")
                ):
                    keys.append(line)
                if line.startswith("Press Ctrl+C"):
                    break
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=10)
            outputs.append(keys)
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(len(outputs[0]), 3)

    def test_bad_arguments(self):
        proc = run_cli("--port", "0", "--secret-key", "tr_prod_nope")
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("secret_key must look like tr_dev_", err)

    def test_request_idempotency_mode(self):
        from django_trigger.testing.__main__ import build_parser

        self.assertEqual(build_parser().parse_args([]).request_idempotency, "service")
        args = build_parser().parse_args(["--request-idempotency", "documented"])
        self.assertEqual(args.request_idempotency, "documented")
        proc = run_cli("--port", "0", "--request-idempotency", "kind")
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("invalid choice: 'kind'", err)

    def test_lifecycle_and_realtime_hold(self):
        from django_trigger.testing.__main__ import build_parser
        from django_trigger.testing.lifecycle import Lifecycle

        args = build_parser().parse_args([])
        self.assertEqual((args.lifecycle, args.realtime_hold), (None, 20.0))
        args = build_parser().parse_args(["--lifecycle", "0.5,2", "--realtime-hold", "5"])
        self.assertEqual(args.lifecycle, Lifecycle(queued=0.5, executing=2))
        self.assertEqual(args.realtime_hold, 5.0)
        for bad in (["--lifecycle", "1"], ["--lifecycle", "a,b"], ["--lifecycle", "-1,2"]):
            with self.subTest(bad=bad):
                proc = run_cli("--port", "0", *bad)
                _, err = proc.communicate(timeout=10)
                self.assertEqual(proc.returncode, 2)
                self.assertIn("QUEUED,EXECUTING", err)
        proc = run_cli("--port", "0", "--realtime-hold", "0")
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("realtime_hold", err)
