"""``manage.py trigger_runs export`` over real HTTP against the emulator: formats, filters,
page size, streaming to a file, and an export interrupted (dropped connections, Ctrl-C)
then resumed without duplicates or gaps."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django_trigger.client import TriggerClient

from .base import SyncTestCase

EVERYTHING = ("--from", "2000-01-01")


class RunsExportTests(SyncTestCase):
    emulator_options = {"runs": 700}

    def export(self, *args: str):
        return self.command("trigger_runs", "export", *args)

    def expected_ids(self, **filters) -> list[str]:
        with TriggerClient(self.emu.secret_key, base_url=self.emu.base_url) as client:
            return [run.id for run in client.runs.list(from_=946684800000, **filters)]

    def lines(self, path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines()

    def jsonl_ids(self, path: Path) -> list[str]:
        return [json.loads(line)["id"] for line in self.lines(path)]

    def runs_requests(self) -> list[dict]:
        return [entry.query for entry in self.journal.entries if entry.path == "/api/v1/runs"]

    def test_csv_on_stdout_at_the_maximum_page_size(self):
        result = self.export(*EVERYTHING)
        self.assertEqual(result.code, 0, result.text)
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        queries = self.runs_requests()
        expected = self.expected_ids()
        self.assertGreater(len(expected), 600)
        self.assertEqual([row["id"] for row in rows], expected)
        self.assertEqual(len(queries), -(-len(expected) // 100))
        self.assertTrue(all(q["page[size]"] == ["100"] for q in queries), queries[0])
        first = rows[0]
        self.assertIn(
            first["status"],
            {
                "COMPLETED",
                "FAILED",
                "QUEUED",
                "EXECUTING",
                "CANCELED",
                "WAITING",
                "DELAYED",
                "PENDING_VERSION",
                "DEQUEUED",
                "CRASHED",
                "SYSTEM_FAILURE",
                "EXPIRED",
                "TIMED_OUT",
            },
        )
        self.assertTrue(first["created_at"].endswith("Z"))

    def test_filters_are_the_clients(self):
        result = self.export(*EVERYTHING, "--status", "FAILED,CRASHED", "--format", "jsonl")
        self.assertEqual(result.code, 0, result.text)
        ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
        self.assertEqual(ids, self.expected_ids(status=["FAILED", "CRASHED"]))
        self.assertEqual(self.runs_requests()[0]["filter[status]"], ["FAILED,CRASHED"])

    def test_period_becomes_fixed_dates(self):
        result = self.export("--period", "2d", "--format", "jsonl")
        self.assertEqual(result.code, 0, result.text)
        query = self.runs_requests()[0]
        self.assertNotIn("filter[createdAt][period]", query)
        start = int(query["filter[createdAt][from]"][0])
        end = int(query["filter[createdAt][to]"][0])
        self.assertAlmostEqual(end - start, 2 * 86_400_000, delta=1000)

    def test_runs_a_test_put_in_the_past(self):
        with self.emu.state.lock:
            now = self.emu.state.now()
            made = [
                self.emu.state.runs.create(
                    "export-me", status="COMPLETED", created_at=now - timedelta(days=d, hours=1)
                )
                for d in (1, 3, 3, 9, 20)
            ]
        start, end = now - timedelta(days=10), now - timedelta(days=2)
        result = self.export(
            "--task", "export-me", "--from", start.isoformat(), "--to", end.isoformat(),
            "--format", "jsonl",
        )  # fmt: skip
        self.assertEqual(result.code, 0, result.text)
        inside = sorted(made[1:4], key=lambda run: run.sort_key, reverse=True)  # newest first
        self.assertEqual(
            [json.loads(line)["id"] for line in result.stdout.splitlines()],
            [run.friendly_id for run in inside],
        )

    def test_bad_filter_sends_nothing(self):
        result = self.export("--status", "NOPE", "--output", str(self.dir / "x.csv"))
        self.assertEqual(result.code, 1)
        self.assertIn("Nothing was sent", result.message)
        self.assertIn("unknown run status NOPE", result.message)
        self.assertEqual(self.requests(), [])
        self.assertFalse((self.dir / "x.csv").exists())
        bad_date = self.export("--from", "yesterday")
        self.assertIn("--from must be an ISO 8601 date", bad_date.message)

    def test_file_output_refuses_to_overwrite(self):
        path = self.dir / "runs.jsonl"
        path.write_text("keep me\n")
        result = self.export(*EVERYTHING, "--output", str(path))
        self.assertEqual(result.code, 1)
        self.assertIn("exists: pass --force", result.message)
        self.assertEqual(path.read_text(), "keep me\n")
        forced = self.export(*EVERYTHING, "--output", str(path), "--format", "jsonl", "--force")
        self.assertEqual(forced.code, 0, forced.text)
        self.assertEqual(self.jsonl_ids(path), self.expected_ids())
        self.assertFalse(Path(f"{path}.state.json").exists())
        self.assertIn("runs written to", forced.stderr)
        self.assertEqual(forced.stdout, "")

    def cursor_after(self, pages: int) -> str:
        """The ``page[after]`` cursor the export sends for the page after ``pages`` pages."""
        with TriggerClient(self.emu.secret_key, base_url=self.emu.base_url) as client:
            page = client.runs.list(from_=946684800000, limit=100)
            for _ in range(pages - 1):
                page = page.get_next_page()
        self.assertIsNotNone(page.next_cursor)
        return page.next_cursor

    def test_dropped_connections_then_resume_without_duplicates_or_gaps(self):
        path = self.dir / "runs.jsonl"
        # Every attempt of the 4th page loses its connection. The fault names that page's
        # cursor: counting answers to arm it was fooled by any other request to the route.
        fourth = self.cursor_after(3)
        self.emu.faults.drop_next(50, path="/api/v1/runs", query={"page[after]": fourth})
        result = self.export(*EVERYTHING, "--output", str(path), "--format", "jsonl")
        self.assertEqual(result.code, 1, result.text)
        self.assertIn("Export stopped after 300 runs", result.message)
        self.assertIn("--resume", result.message)
        state = json.loads(Path(f"{path}.state.json").read_text())
        self.assertEqual(state["count"], 300)
        self.assertEqual(state["cursor"], fourth)
        self.assertEqual(len(self.lines(path)), 300)

        self.emu.faults.clear()
        self.journal.clear()
        resumed = self.export("--output", str(path), "--resume")
        self.assertEqual(resumed.code, 0, resumed.text)
        ids = self.jsonl_ids(path)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(ids, self.expected_ids())
        self.assertEqual(self.runs_requests()[0]["page[after]"], [state["cursor"]])
        self.assertFalse(Path(f"{path}.state.json").exists())

    def test_resume_cuts_a_half_written_page(self):
        path = self.dir / "runs.csv"
        self.emu.faults.drop_next(
            50, path="/api/v1/runs", query={"page[after]": self.cursor_after(2)}
        )
        result = self.export(*EVERYTHING, "--output", str(path))
        self.assertEqual(result.code, 1, result.text)
        self.assertIn("Export stopped after 200 runs", result.message)
        self.emu.faults.clear()
        with path.open("a", encoding="utf-8") as handle:  # rows written after the last state
            handle.write("run_half,written\n")
        resumed = self.export("--output", str(path), "--resume")
        self.assertEqual(resumed.code, 0, resumed.text)
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        self.assertEqual([row["id"] for row in rows], self.expected_ids())

    def test_resume_refuses_new_filters_and_missing_state(self):
        path = self.dir / "runs.csv"
        missing = self.export("--output", str(path), "--resume")
        self.assertEqual(missing.code, 1)
        self.assertIn("No interrupted export to resume", missing.message)
        Path(f"{path}.state.json").write_text(json.dumps({"version": 1}))
        path.write_text("")
        other = self.export("--output", str(path), "--resume", "--status", "FAILED")
        self.assertIn("do not pass --status", other.message)
        again = self.export(*EVERYTHING, "--output", str(path))
        self.assertIn("holds an interrupted export", again.message)
        self.assertEqual(self.export("--resume").code, 1)

    def test_ctrl_c_in_a_real_process_then_resume(self):
        path = self.dir / "runs.jsonl"
        # The third page is held: Ctrl-C comes while the walk waits for it, however fast or
        # slow the machine (slow pages raced a loaded test: the walk could end first).
        third = {"page[after]": self.cursor_after(2)}
        self.emu.faults.stall_next(1, 120, path="/api/v1/runs", query=third)
        process = self.start_process(
            "trigger_runs", "export", *EVERYTHING, "--format", "jsonl", "--output", str(path)
        )
        deadline = time.monotonic() + 60
        while self.emu.faults.pending and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 1, err)
        self.assertIn("interrupted", err)
        state = json.loads(Path(f"{path}.state.json").read_text())
        self.assertEqual(state["count"], 200)
        self.assertEqual(state["cursor"], third["page[after]"])
        resumed = self.export("--output", str(path), "--resume")
        self.assertEqual(resumed.code, 0, resumed.text)
        self.assertEqual(self.jsonl_ids(path), self.expected_ids())

    def start_process(self, *args: str) -> subprocess.Popen:
        settings_file = self.dir / "ops_settings.py"
        trigger = {"default": self.emu.client_settings()}
        settings_file.write_text(f"from tests.settings import *  # noqa\nTRIGGER = {trigger!r}\n")
        root = Path(__file__).resolve().parents[2]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(self.dir), str(root)]),
            "DJANGO_SETTINGS_MODULE": "ops_settings",
        }
        return subprocess.Popen(
            [sys.executable, "-m", "django", *args],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def test_progress_line_only_on_a_terminal(self):
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        terminal = Terminal()
        self.command(
            "trigger_runs",
            "export",
            *EVERYTHING,
            "--output",
            str(self.dir / "a.csv"),
            stderr=terminal,
        )
        self.assertRegex(terminal.getvalue(), r"\r[\d,]+ runs \([\d,]+/s\)")
        piped = self.export(*EVERYTHING, "--output", str(self.dir / "b.csv"))
        self.assertNotIn("\r", piped.stderr)
        quiet = Terminal()
        self.command(
            "trigger_runs",
            "export",
            *EVERYTHING,
            "--output",
            str(self.dir / "c.csv"),
            "--no-progress",
            stderr=quiet,
        )
        self.assertNotIn("\r", quiet.getvalue())

    def test_personal_access_token_exports_the_projects_runs(self):
        with self.pat_settings(ENVIRONMENT="prod"):
            result = self.export(*EVERYTHING, "--format", "jsonl")
        self.assertEqual(result.code, 0, result.text)
        paths = {entry.path for entry in self.journal.entries}
        self.assertEqual(paths, {f"/api/v1/projects/{self.emu.project_ref}/runs"})
        ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
        self.assertTrue(ids)
        self.assertEqual(len(ids), len(set(ids)))

    def test_unreachable_api_and_wrong_key_leave_the_file_alone(self):
        path = self.dir / "runs.csv"
        with self.settings(API_URL="http://127.0.0.1:9", RETRY={"MAX_ATTEMPTS": 1}):
            result = self.export(*EVERYTHING, "--output", str(path))
        self.assertEqual(result.code, 1)
        self.assertIn("Nothing was exported", result.message)
        self.assertFalse(path.exists())
        self.assertFalse(Path(f"{path}.state.json").exists())
        with self.settings(ACCESS_TOKEN="tr_dev_" + "x" * 24):
            result = self.export(*EVERYTHING, "--output", str(path))
        self.assertEqual(result.code, 1)
        self.assertIn("401", result.message)
        self.assertNotIn("x" * 24, result.text)
        self.assertFalse(path.exists())

    def test_environment_other_than_the_keys_is_refused_before_sending(self):
        result = self.export(*EVERYTHING, "-e", "prod")
        self.assertEqual(result.code, 1)
        self.assertIn("Nothing was sent", result.message)
        self.assertEqual(self.requests(), [])
