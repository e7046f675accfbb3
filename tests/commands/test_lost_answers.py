"""trigger_sync_envvars after a lost answer: the server did the work, its answer never came
(a dropped connection, a 502 after processing). The retry is refused ("already set" for an
import, "value not found" for a delete) or every attempt is lost; the command reads the state
back (one list), goes on when it is what was intended, exits 0 and says which names were
written and which were found already there."""

from __future__ import annotations

import json

from .base import SyncTestCase

SEEDED_DEV = {
    "API_BASE_URL",
    "DATABASE_URL",
    "FEATURE_FLAGS",
    "LOG_LEVEL",
    "REGION",
    "SLACK_API_KEY",
}


class LostAnswerTests(SyncTestCase):
    def import_path(self) -> str:
        return self.path(suffix="/import")

    def methods(self) -> list[str]:
        return [method for method, _path in self.requests()]

    def lose(self, kind: str, path: str, n: int = 1) -> None:
        if kind == "drop":
            self.emu.faults.drop_next(n, after_processing=True, path=path)
        else:
            self.emu.faults.fail_next(n, 502, after_processing=True, path=path)

    def test_a_lost_import_answer_is_settled_by_reading_back(self):
        for kind in ("drop", "502"):
            with self.subTest(kind):
                self.emu.reset()
                path = self.env_file("NEW=n\nOTHER=o\n")
                self.lose(kind, self.import_path())
                result = self.sync("--env-file", path, "-v", "2")
                self.assertEqual(result.code, 0, result.text)
                remote = self.remote()
                self.assertEqual((remote["NEW"], remote["OTHER"]), (("n", False), ("o", False)))
                self.assertEqual(set(remote), SEEDED_DEV | {"NEW", "OTHER"})
                # plan, the lost import, its retry (400 already set), reading back, verifying
                self.assertEqual(self.methods(), ["GET", "POST", "POST", "GET", "GET"])
                self.assertEqual(self.journal.filter(method="POST")[1].status, 400)
                self.assertIn("already there (answer lost, read back): NEW, OTHER", result.stdout)
                self.assertIn("2 created, 0 updated, 0 deleted (5 requests in all)", result.stdout)
                self.assertIn("Verified:", result.stdout)

    def test_a_lost_answer_to_an_override_import_is_retried_and_written(self):
        path = self.env_file("LOG_LEVEL=warning\n")
        self.lose("502", self.import_path())
        result = self.sync("--env-file", path, "-v", "2")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote()["LOG_LEVEL"], ("warning", False))
        # The retry of override=true writes the same value again and answers 200.
        self.assertEqual(self.methods(), ["GET", "POST", "POST", "GET"])
        self.assertIn("  applied: LOG_LEVEL", result.stdout)
        self.assertNotIn("already there", result.stdout)
        self.assertIn("(4 requests in all)", result.stdout)

    def test_a_lost_delete_answer_is_settled_by_reading_back(self):
        for kind in ("drop", "502"):
            with self.subTest(kind):
                self.emu.reset()
                keep = {name: self.remote()[name][0] for name in ("LOG_LEVEL", "REGION")}
                path = self.env_file("".join(f"{k}={v}\n" for k, v in keep.items()))
                self.lose(kind, self.path(suffix="/DATABASE_URL"))
                result = self.sync("--env-file", path, "--prune", "--no-input", "--format", "json")
                self.assertEqual(result.code, 0, result.text)
                self.assertEqual(set(self.remote()), {"LOG_LEVEL", "REGION"})
                deletes = self.journal.filter(method="DELETE")
                # API_BASE_URL, DATABASE_URL (lost), its retry, FEATURE_FLAGS, SLACK_API_KEY
                self.assertEqual(len(deletes), 5)
                self.assertEqual(deletes[2].status, 400)
                # plan, 5 deletes, reading back, the 2 other deletes... then verifying
                self.assertEqual(
                    self.methods(),
                    ["GET", "DELETE", "DELETE", "DELETE", "GET", "DELETE", "DELETE", "GET"],
                )
                outcome = json.loads(result.stdout)["targets"][0]["result"]
                self.assertTrue(outcome["ok"])
                self.assertEqual(outcome["already_there"], ["DATABASE_URL"])
                self.assertEqual(
                    outcome["applied"], ["API_BASE_URL", "FEATURE_FLAGS", "SLACK_API_KEY"]
                )
                self.assertEqual(outcome["requests"], 7)  # after the plan's list

    def test_every_attempt_lost_is_settled_by_reading_back(self):
        path = self.env_file("NEW=n\n")
        self.lose("drop", self.import_path(), n=5)  # the policy's 5 attempts, all lost
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote()["NEW"], ("n", False))
        self.assertEqual(self.methods(), ["GET", *["POST"] * 5, "GET", "GET"])
        self.assertIn("already there (answer lost, read back): NEW", result.stdout)

    def test_a_lost_secret_import_is_settled_by_presence(self):
        path = self.env_file("NEW_SECRET=s3\n")
        self.lose("drop", self.import_path())
        result = self.sync("--env-file", path, "--secret", "NEW_SECRET")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote()["NEW_SECRET"], ("s3", True))
        self.assertIn("already there (answer lost, read back): NEW_SECRET", result.stdout)

    def test_a_lost_answer_without_the_work_done_still_fails(self):
        """A 502 before processing, not retried: reading back finds nothing, and that list is
        the verification (no third list)."""
        path = self.env_file("NEW=n\n")
        self.emu.faults.fail_next(
            1, 502, headers={"x-should-retry": "false"}, path=self.import_path()
        )
        result = self.sync("--env-file", path, "--format", "json")
        self.assertEqual(result.code, 1)
        self.assertNotIn("NEW", self.remote())
        self.assertEqual(self.methods(), ["GET", "POST", "GET"])
        outcome = json.loads(result.stdout)["targets"][0]["result"]
        self.assertEqual(outcome["not_applied"], ["NEW"])
        self.assertEqual(outcome["already_there"], [])
