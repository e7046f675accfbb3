"""``manage.py trigger_sync_envvars`` over real HTTP against the emulator: plan, apply,
verification, every option, exit codes and requests counted from the emulator's journal.

The emulator's seeded dev environment holds DATABASE_URL and SLACK_API_KEY (secret), REGION
("local"), LOG_LEVEL ("debug"), API_BASE_URL and FEATURE_FLAGS.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from django.core.management import get_commands, load_command_class
from django.test import override_settings

from django_trigger.testing.resources.envvars import REDACTED

from .base import SyncTestCase

SEEDED_DEV = {
    "API_BASE_URL",
    "DATABASE_URL",
    "FEATURE_FLAGS",
    "LOG_LEVEL",
    "REGION",
    "SLACK_API_KEY",
}


class PlanAndApplyTests(SyncTestCase):
    def test_dry_run_lists_once_and_writes_nothing(self):
        before = self.remote()
        path = self.env_file("NEW_NAME=new-value-123\nLOG_LEVEL=warning\nREGION=local\n")
        result = self.sync("--env-file", path, "--dry-run")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.requests(), [("GET", self.path())])
        self.assertEqual(self.remote(), before)
        out = result.stdout
        self.assertIn("3 variables from", out)
        self.assertIn(".env (3 definitions).", out)
        self.assertIn("+ create  NEW_NAME", out)
        self.assertIn("~ update  LOG_LEVEL", out)
        self.assertIn("value differs", out)
        self.assertIn("Summary: 1 to create, 1 to update, 0 to delete, 1 unchanged", out)
        self.assertIn("4 only in Trigger.dev (kept; --prune deletes)", out)
        self.assertIn("Dry run: nothing was written.", out)
        self.assertNotIn("new-value-123", out)
        self.assertNotIn("warning", out)

    def test_apply_is_one_list_one_import_one_verification(self):
        path = self.env_file("NEW_NAME=n\nLOG_LEVEL=warning\nREGION=local\n")
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(
            self.requests(),
            [
                ("GET", self.path()),
                ("POST", self.path(suffix="/import")),
                ("GET", self.path()),
            ],
        )
        body = self.journal.last(method="POST").body
        # Only what changes is sent; override is needed because LOG_LEVEL exists. (The journal
        # keeps names, not values: the values are checked in the emulator's state.)
        self.assertEqual(
            body, {"variables": {"LOG_LEVEL": REDACTED, "NEW_NAME": REDACTED}, "override": True}
        )
        remote = self.remote()
        self.assertEqual(remote["NEW_NAME"], ("n", False))
        self.assertEqual(remote["LOG_LEVEL"], ("warning", False))
        self.assertEqual(set(remote), SEEDED_DEV | {"NEW_NAME"})  # nothing else touched
        self.assertIn("Applied to", result.stdout)
        self.assertIn("1 created, 1 updated, 0 deleted (3 requests in all)", result.stdout)
        self.assertIn("Verified:", result.stdout)

    def test_a_thousand_variables_take_one_import(self):
        lines = "".join(f"VAR_{i:04d}=value-{i}\n" for i in range(1000))
        result = self.sync("--env-file", self.env_file(lines))
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual([m for m, _p in self.requests()], ["GET", "POST", "GET"])
        self.assertEqual(len(self.journal.last(method="POST").body["variables"]), 1000)
        self.assertEqual(len(self.remote()), 1000 + len(SEEDED_DEV))

    def test_no_verify_makes_two_requests(self):
        path = self.env_file("NEW_NAME=n\n")
        result = self.sync("--env-file", path, "--no-verify")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual([m for m, _p in self.requests()], ["GET", "POST"])

    def test_creates_only_are_imported_without_override(self):
        path = self.env_file("NEW_A=a\nNEW_B=b\n")
        self.assertEqual(self.sync("--env-file", path).code, 0)
        self.assertEqual(
            self.journal.last(method="POST").body,
            {"variables": {"NEW_A": REDACTED, "NEW_B": REDACTED}, "override": False},
        )
        self.assertEqual(
            (self.remote()["NEW_A"], self.remote()["NEW_B"]), (("a", False), ("b", False))
        )

    def test_second_run_is_in_sync_with_one_request(self):
        path = self.env_file("NEW_NAME=n\nLOG_LEVEL=warning\n")
        self.assertEqual(self.sync("--env-file", path).code, 0)
        self.journal.clear()
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.requests(), [("GET", self.path())])
        self.assertIn("Already in sync: nothing to send.", result.stdout)

    def test_check_exits_3_on_drift_and_0_in_sync(self):
        path = self.env_file("LOG_LEVEL=warning\n")
        result = self.sync("--env-file", path, "--check")
        self.assertEqual(result.code, 3)
        self.assertIn("Changes to make in", result.message)
        self.assertEqual(self.requests(), [("GET", self.path())])
        self.assertEqual(self.remote()["LOG_LEVEL"], ("debug", False))
        in_sync = self.env_file("LOG_LEVEL=debug\n", "same.env")
        result = self.sync("--env-file", in_sync, "--check")
        self.assertEqual(result.code, 0, result.text)
        self.assertIn("In sync", result.stdout)

    def test_secret_remote_values_are_not_compared_or_resent(self):
        path = self.env_file("DATABASE_URL=postgres://local\n")
        result = self.sync("--env-file", path, "--check")
        self.assertEqual(result.code, 0, result.text)  # cannot be compared: not drift
        self.assertIn("? secret", result.stdout)
        self.assertIn("secret, cannot be compared", result.stdout)
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.journal.count(method="POST"), 0)
        self.assertNotEqual(self.remote()["DATABASE_URL"][0], "postgres://local")

    def test_overwrite_secrets_resends_and_keeps_them_secret(self):
        path = self.env_file("DATABASE_URL=postgres://local\n")
        result = self.sync("--env-file", path, "--overwrite-secrets")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(
            self.journal.last(method="POST").body,
            {"variables": {"DATABASE_URL": REDACTED}, "override": True},
        )
        self.assertEqual(self.remote()["DATABASE_URL"], ("postgres://local", True))

    def test_secret_names_go_in_their_own_import(self):
        path = self.env_file("PLAIN=p\nTOKEN=t\nREGION=local\n")
        result = self.sync("--env-file", path, "--secret", "TOKEN,REGION")
        self.assertEqual(result.code, 0, result.text)
        imports = [e.body for e in self.journal.filter(method="POST")]
        self.assertEqual(
            imports,
            [
                {"variables": {"PLAIN": REDACTED}, "override": False},
                {
                    "variables": {"REGION": REDACTED, "TOKEN": REDACTED},
                    "override": True,
                    "isSecret": True,
                },
            ],
        )
        remote = self.remote()
        self.assertEqual(remote["PLAIN"], ("p", False))
        self.assertEqual(remote["TOKEN"], ("t", True))
        self.assertEqual(remote["REGION"], ("local", True))  # an existing plain one made secret
        self.assertIn("mark as secret", result.stdout)
        self.assertEqual(self.journal.count(method="GET"), 2)

    def test_all_secret(self):
        path = self.env_file("ONE=1\nTWO=2\n")
        self.assertEqual(self.sync("--env-file", path, "--all-secret").code, 0)
        self.assertEqual(
            self.journal.last(method="POST").body,
            {"variables": {"ONE": REDACTED, "TWO": REDACTED}, "override": False, "isSecret": True},
        )
        self.assertEqual(self.remote()["ONE"], ("1", True))

    def test_reserved_names_are_reported_and_never_sent(self):
        path = self.env_file("TRIGGER_SECRET_KEY=tr_dev_mine\nTRIGGER_API_URL=http://x\nA=1\n")
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.journal.last(method="POST").body["variables"], {"A": REDACTED})
        self.assertEqual(self.remote()["A"], ("1", False))
        self.assertIn("Skipped (never sent):", result.stdout)
        self.assertIn("! TRIGGER_SECRET_KEY", result.stdout)
        self.assertIn(
            "reserved: Trigger.dev sets it itself and silently drops it on write", result.stdout
        )
        self.assertNotIn("tr_dev_mine", result.text)

    def test_allow_empty_skips_and_reports(self):
        path = self.env_file("EMPTY=\nA=1\n")
        result = self.sync("--env-file", path, "--allow-empty")
        self.assertEqual(result.code, 0, result.text)
        self.assertIn("! EMPTY", result.stdout)
        self.assertIn("empty value: Trigger.dev silently drops empty values", result.stdout)
        self.assertEqual(self.journal.last(method="POST").body["variables"], {"A": REDACTED})


class PruneTests(SyncTestCase):
    def test_prune_deletes_after_the_import_one_by_one(self):
        path = self.env_file("REGION=local\nLOG_LEVEL=debug\nAPI_BASE_URL=x\nNEW=n\n")
        result = self.sync("--env-file", path, "--prune", "--no-input")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(
            self.requests(),
            [
                ("GET", self.path()),
                ("POST", self.path(suffix="/import")),
                ("DELETE", self.path(suffix="/DATABASE_URL")),
                ("DELETE", self.path(suffix="/FEATURE_FLAGS")),
                ("DELETE", self.path(suffix="/SLACK_API_KEY")),
                ("GET", self.path()),
            ],
        )
        self.assertEqual(set(self.remote()), {"REGION", "LOG_LEVEL", "API_BASE_URL", "NEW"})
        self.assertIn("3 deleted (6 requests in all)", result.stdout)

    def test_interactive_prune_asks_first(self):
        path = self.env_file("REGION=local\nNEW=n\n")
        before = self.remote()
        result = self.sync("--env-file", path, "--prune", stdin="n\n")
        self.assertEqual(result.code, 1)
        self.assertIn(
            f"This will delete 5 variables in {self.emu.project_ref}/dev "
            "(API_BASE_URL, DATABASE_URL, FEATURE_FLAGS, LOG_LEVEL, SLACK_API_KEY). "
            "Continue? [y/N]",
            result.stdout,
        )
        self.assertIn("Continue? [y/N]", result.stdout)
        self.assertIn("Cancelled: nothing was written.", result.stdout)
        self.assertEqual(self.requests(), [("GET", self.path())])
        self.assertEqual(self.remote(), before)

        result = self.sync("--env-file", path, "--prune", stdin="")  # end of input is a no
        self.assertEqual(result.code, 1)
        self.assertIn(
            "No answer (end of input): nothing was written. Pass --no-input", result.stdout
        )
        self.assertEqual(self.journal.count(method="DELETE"), 0)

        result = self.sync("--env-file", path, "--prune", "--format", "json", stdin="n\n")
        self.assertEqual(result.code, 1)
        self.assertIn("Continue? [y/N]", result.stderr)  # stdout stays one JSON document
        self.assertEqual(json.loads(result.stdout)["errors"], ["Cancelled."])

        result = self.sync("--env-file", path, "--prune", stdin="yes\n")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(set(self.remote()), {"REGION", "NEW"})

    def test_no_input_spellings(self):
        for flag in ("--no-input", "--noinput", "--yes"):
            with self.subTest(flag=flag):
                self.emu.reset()
                path = self.env_file("REGION=local\n")
                result = self.sync("--env-file", path, "--prune", flag, stdin="n\n")
                self.assertEqual(result.code, 0, result.text)
                self.assertNotIn("Continue?", result.stdout)
                self.assertEqual(set(self.remote()), {"REGION"})

    def test_creates_and_updates_need_no_confirmation_outside_prod(self):
        path = self.env_file("NEW=n\n")
        result = self.sync("--env-file", path, stdin="")
        self.assertEqual(result.code, 0, result.text)
        self.assertNotIn("Continue?", result.stdout)

    def test_refuses_to_prune_everything(self):
        with self.settings(ENVVARS={}):
            result = self.sync("--prune", "--no-input")
        self.assertEqual(result.code, 1)
        self.assertIn("Refusing to --prune with no variable in the sources", result.message)
        self.assertEqual(len(self.journal), 0)


class FailureTests(SyncTestCase):
    NO_RETRY = {"x-should-retry": "false"}

    def test_failure_between_the_import_and_the_deletions(self):
        path = self.env_file("REGION=local\nLOG_LEVEL=debug\nNEW=n\n")
        self.emu.faults.fail_next(
            1, 500, headers=self.NO_RETRY, method="DELETE", path=self.path(suffix="/FEATURE_FLAGS")
        )
        result = self.sync("--env-file", path, "--prune", "--no-input", "--format", "json")
        self.assertEqual(result.code, 1)
        methods = [m for m, _p in self.requests()]
        # list, import, DELETE API_BASE_URL, DATABASE_URL, FEATURE_FLAGS (fails), re-list
        self.assertEqual(methods, ["GET", "POST", "DELETE", "DELETE", "DELETE", "GET"])
        remote = self.remote()
        self.assertEqual(remote["NEW"], ("n", False))
        self.assertNotIn("API_BASE_URL", remote)
        self.assertIn("FEATURE_FLAGS", remote)
        self.assertIn("SLACK_API_KEY", remote)  # never attempted
        document = json.loads(result.stdout)
        outcome = document["targets"][0]["result"]
        self.assertEqual(outcome["applied"], ["NEW", "API_BASE_URL", "DATABASE_URL"])
        self.assertEqual(outcome["not_applied"], ["FEATURE_FLAGS", "SLACK_API_KEY"])
        self.assertEqual(outcome["failed_step"], "delete FEATURE_FLAGS")
        self.assertIn("500", outcome["error"])
        self.assertFalse(document["ok"])
        self.assertEqual(document["exit_code"], 1)

    def test_failure_report_in_text(self):
        path = self.env_file("REGION=local\nLOG_LEVEL=debug\nNEW=n\n")
        self.emu.faults.fail_next(
            1, 500, headers=self.NO_RETRY, method="DELETE", path=self.path(suffix="/FEATURE_FLAGS")
        )
        result = self.sync("--env-file", path, "--prune", "--no-input")
        self.assertEqual(result.code, 1)
        self.assertIn("FAILED in", result.stdout)
        self.assertIn("at the delete FEATURE_FLAGS: 500", result.stdout)
        self.assertIn("  applied: NEW, API_BASE_URL, DATABASE_URL", result.stdout)
        self.assertIn("  not applied: FEATURE_FLAGS, SLACK_API_KEY", result.stdout)
        self.assertIn("did not complete", result.message)

    def test_a_failed_import_deletes_nothing(self):
        path = self.env_file("REGION=local\nLOG_LEVEL=debug\nNEW=n\n")
        self.emu.faults.fail_next(1, 500, headers=self.NO_RETRY, method="POST")
        result = self.sync("--env-file", path, "--prune", "--no-input")
        self.assertEqual(result.code, 1)
        self.assertEqual([m for m, _p in self.requests()], ["GET", "POST", "GET"])
        self.assertEqual(self.journal.count(method="DELETE"), 0)
        self.assertIn("at the import of 1 variable", result.stdout)
        self.assertIn(
            "not applied: NEW, API_BASE_URL, DATABASE_URL, FEATURE_FLAGS, SLACK_API_KEY",
            result.stdout,
        )
        self.assertEqual(len(self.remote()), len(SEEDED_DEV))

    def test_an_import_lost_after_the_server_wrote_it_is_settled_by_reading_back(self):
        path = self.env_file("NEW=n\nLOG_LEVEL=warning\n")
        self.emu.faults.fail_next(
            1, 502, headers=self.NO_RETRY, method="POST", after_processing=True
        )
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        self.assertIn("already there (answer lost, read back): LOG_LEVEL, NEW", result.stdout)
        self.assertEqual([m for m, _p in self.requests()], ["GET", "POST", "GET", "GET"])

    def test_a_dropped_import_is_retried_and_verified(self):
        path = self.env_file("NEW=n\n")
        self.emu.faults.drop_next(1, method="POST", after_processing=True)
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 0, result.text)
        posts = self.journal.filter(method="POST")
        self.assertEqual(len(posts), 2)
        # The lost attempt wrote the value; the retry is refused "already set" and the client
        # reads the values back (docs/client.md: retry safety per method).
        self.assertEqual(posts[1].status, 400)
        self.assertEqual(self.remote()["NEW"], ("n", False))

    def test_a_variable_created_since_the_plan_is_not_overwritten(self):
        path = self.env_file("NEW=mine\nREGION=local\n")
        test = self

        class CreateMeanwhile(io.StringIO):
            def readline(self, *args):
                test.set_remote("NEW", "theirs")  # someone else, between plan and apply
                return "y\n"

        result = self.sync("--env-file", path, "--prune", stdin=CreateMeanwhile())
        self.assertEqual(result.code, 1)
        self.assertEqual(self.remote()["NEW"], ("theirs", False))
        self.assertEqual(self.journal.count(method="DELETE"), 0)
        self.assertIn("400 Some of the variables are already set", result.stdout)
        self.assertIn("not applied: NEW", result.stdout)

    def test_verification_reports_differences(self):
        path = self.env_file("REGION=local\nNEW=n\n")
        test = self

        class ChangeMeanwhile(io.StringIO):
            def readline(self, *args):
                test.set_remote("REGION", "changed-by-someone")
                return "y\n"

        result = self.sync("--env-file", path, "--prune", stdin=ChangeMeanwhile())
        self.assertEqual(result.code, 1)
        self.assertIn("Verification found differences", result.stdout)
        self.assertIn("    REGION: value differs", result.stdout)
        self.assertNotIn("changed-by-someone", result.text)

    def test_plan_list_failure_writes_nothing(self):
        path = self.env_file("NEW=n\n")
        self.emu.faults.fail_next(1, 500, headers=self.NO_RETRY, method="GET")
        result = self.sync("--env-file", path)
        self.assertEqual(result.code, 1)
        self.assertIn("Could not list the variables of", result.message)
        self.assertIn("nothing was written", result.message)
        self.assertEqual(self.journal.count(method="POST"), 0)

    def test_verification_list_failure_is_an_error(self):
        path = self.env_file("REGION=local\nNEW=n\n")
        test = self

        class FailTheNextList(io.StringIO):
            def readline(self, *args):  # after the plan's list, before anything is applied
                test.emu.faults.fail_next(1, 500, headers=FailureTests.NO_RETRY, method="GET")
                return "y\n"

        result = self.sync("--env-file", path, "--prune", stdin=FailTheNextList())
        self.assertEqual(result.code, 1)
        self.assertIn("Could not list the variables again to check: 500", result.stdout)
        self.assertEqual(set(self.remote()), {"REGION", "NEW"})  # applied all the same

    def test_unknown_project_is_an_api_error_before_any_write(self):
        path = self.env_file("NEW=n\n")
        result = self.sync("--env-file", path, "--project-ref", "proj_doesnotexist1")
        self.assertEqual(result.code, 1)
        self.assertIn("400 Invalid project ref for this API key", result.message)
        self.assertEqual(self.journal.count(method="POST"), 0)


class MultiEnvironmentTests(SyncTestCase):
    def test_three_environments_with_a_pat(self):
        path = self.env_file("SHARED=s\nLOG_LEVEL=warning\n")
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync(
                "--env-file", path, "-e", "dev", "-e", "staging", "-e", "prod", "--no-input"
            )
        self.assertEqual(result.code, 0, result.text)
        for slug in ("dev", "staging", "prod"):
            remote = self.remote(slug)
            self.assertEqual(remote["SHARED"], ("s", False), slug)
            self.assertEqual(remote["LOG_LEVEL"], ("warning", False), slug)
        # Every plan (three lists) comes before any write.
        self.assertEqual([m for m, _p in self.requests()][:3], ["GET", "GET", "GET"])
        self.assertEqual(self.journal.count(method="POST"), 3)
        self.assertEqual(self.journal.count(method="GET"), 6)
        self.assertIn("[1/3] listing the variables of", result.stdout)
        self.assertIn("[3/3] applying the plan to", result.stdout)
        self.assertIn("(personal access token)", result.stdout)

    def test_writing_to_prod_asks_first(self):
        path = self.env_file("SHARED=s\n")
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync("--env-file", path, "-e", "dev", "-e", "prod", stdin="n\n")
        self.assertEqual(result.code, 1)
        self.assertIn("This will write to production", result.stdout)
        self.assertEqual(self.journal.count(method="POST"), 0)
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync("--env-file", path, "-e", "prod", stdin="y\n")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote("prod")["SHARED"], ("s", False))

    def test_a_failure_stops_before_the_next_environment(self):
        path = self.env_file("SHARED=s\n")
        self.emu.faults.fail_next(
            1,
            500,
            headers={"x-should-retry": "false"},
            method="POST",
            path=self.path("staging", "/import"),
        )
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync(
                "--env-file",
                path,
                "-e",
                "dev",
                "-e",
                "staging",
                "-e",
                "prod",
                "--no-input",
                "--format",
                "json",
            )
        self.assertEqual(result.code, 1)
        self.assertEqual(self.journal.count(method="POST", path=self.path("prod", "/import")), 0)
        self.assertIn("SHARED", self.remote("dev"))
        self.assertNotIn("SHARED", self.remote("prod"))
        document = json.loads(result.stdout)
        results = [target["result"] for target in document["targets"]]
        self.assertTrue(results[0]["ok"])
        self.assertFalse(results[1]["ok"])
        self.assertEqual(results[2], {"ok": False, "not_attempted": True})
        self.assertIn("Not attempted:", result.message)
        self.assertIn("[1/3]", result.stderr)  # progress goes to stderr in JSON mode

    def test_secret_key_for_another_environment_is_refused_before_sending(self):
        path = self.env_file("SHARED=s\n")
        result = self.sync("--env-file", path, "-e", "prod")
        self.assertEqual(result.code, 1)
        self.assertIn("secret key belongs to 'dev'", result.message)
        self.assertIn("would silently write 'dev' instead of 'prod'", result.message)
        self.assertIn("Use a personal access token", result.message)
        self.assertEqual(len(self.journal), 0)

    def test_branch(self):
        path = self.env_file("LOGIN_PROVIDER=oauth\n")
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync(
                "--env-file", path, "-e", "preview", "--branch", "feature-login", "--no-input"
            )
        self.assertEqual(result.code, 0, result.text)
        for entry in self.journal.entries:
            self.assertEqual(entry.header("x-trigger-branch"), "feature-login")
        self.assertEqual(
            self.remote("preview", "feature-login")["LOGIN_PROVIDER"], ("oauth", False)
        )
        self.assertNotIn("LOGIN_PROVIDER", self.remote("preview"))

    def test_configured_branch_is_not_sent_to_other_environments(self):
        path = self.env_file("SHARED=s\n")
        with self.pat_settings(ENVIRONMENT="preview", PREVIEW_BRANCH="feature-login"):
            result = self.sync("--env-file", path, "-e", "preview", "-e", "staging", "--no-input")
        self.assertEqual(result.code, 0, result.text)
        for entry in self.journal.entries:
            expected = "feature-login" if "/preview" in entry.path else None
            self.assertEqual(entry.header("x-trigger-branch"), expected, entry.path)
        self.assertEqual(self.remote("staging")["SHARED"], ("s", False))

    def test_prune_on_a_branch_is_refused(self):
        path = self.env_file("SHARED=s\n")
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync(
                "--env-file",
                path,
                "-e",
                "preview",
                "--branch",
                "feature-login",
                "--prune",
                "--no-input",
            )
        self.assertEqual(result.code, 1)
        self.assertIn("--prune cannot be used on a branch", result.message)
        self.assertEqual(len(self.journal), 0)

    def test_project_ref_option(self):
        second = self.emu.state.second_project.ref
        path = self.env_file("SHARED=s\n")
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync(
                "--env-file", path, "--project-ref", second, "-e", "staging", "--no-input"
            )
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.journal.count(path_prefix=f"/api/v1/projects/{second}/"), 3)

    def test_client_alias(self):
        path = self.env_file("SHARED=s\n")
        trigger = {
            "default": self.emu.client_settings(),
            "ops": self.emu.client_settings(
                ACCESS_TOKEN=self.emu.access_token, ENVIRONMENT="staging"
            ),
        }
        with override_settings(TRIGGER=trigger):
            result = self.sync("--env-file", path, "--client", "ops", "--no-input")
            self.assertEqual(result.code, 0, result.text)
            self.assertEqual(self.remote("staging")["SHARED"], ("s", False))
            result = self.sync("--env-file", path, "--client", "nope")
        self.assertEqual(result.code, 1)
        self.assertIn("No Trigger.dev client alias 'nope'", result.message)


class BadInputTests(SyncTestCase):
    """Every bad input is a clear error (exit 1) before any request."""

    def assertRefused(self, result, *fragments):
        self.assertEqual(result.code, 1, result.text)
        self.assertTrue(result.message.startswith("Nothing was sent"), result.message)
        for fragment in fragments:
            self.assertIn(fragment, result.message)
        self.assertEqual(len(self.journal), 0)

    def test_no_source(self):
        self.assertRefused(self.sync(), "nothing to sync: give --env-file")

    def test_unreadable_file(self):
        self.assertRefused(
            self.sync("--env-file", str(self.dir / "missing.env")),
            "missing.env: cannot read the file (No such file or directory).",
        )

    def test_not_utf8(self):
        path = self.env_file(b"A=1\nB=\xff\xfe\n")
        self.assertRefused(self.sync("--env-file", path), ".env:2: not UTF-8 text (byte 0xff)")

    def test_invalid_names(self):
        path = self.env_file("my-var=1\nGOOD=1\n")
        self.assertRefused(
            self.sync("--env-file", path, "--from-env", "also-bad"),
            ".env:1: 'my-var' is not a valid name",
            "--from-env 'also-bad' is not a valid name",
        )
        with self.settings(ENVVARS={"bad name": "x"}):
            self.assertRefused(self.sync(), "'bad name' is not a valid name")

    def test_defined_twice_with_different_values(self):
        one = self.env_file("A=s3cret-1\n", "one.env")
        two = self.env_file("A=s3cret-2\n", "two.env")
        result = self.sync("--env-file", one, "--env-file", two)
        self.assertRefused(
            result, f"A is defined with different values in {one}:1, {two}:1", "--allow-overrides"
        )
        self.assertNotIn("s3cret", result.text)

    def test_allow_overrides_lets_the_later_source_win_and_says_so(self):
        one = self.env_file("A=1\n", "one.env")
        two = self.env_file("A=2\n", "two.env")
        result = self.sync("--env-file", one, "--env-file", two, "--allow-overrides")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote()["A"], ("2", False))
        self.assertIn(f"A: {two}:1 overrides {one}:1 (--allow-overrides)", result.stdout)
        self.assertIn("(lowest precedence first)", result.stdout)

    def test_empty_values(self):
        path = self.env_file("EMPTY=\n")
        self.assertRefused(self.sync("--env-file", path), "EMPTY is empty in", "--allow-empty")

    def test_oversized_value(self):
        path = self.env_file("BIG=" + "x" * 140_000 + "\n")
        self.assertRefused(self.sync("--env-file", path), "BIG (", "is too large")

    def test_pat_without_project_ref(self):
        with self.pat_settings(PROJECT_REF=None, ENVIRONMENT="dev"):
            result = self.sync("--env-file", self.env_file("A=1\n"))
        self.assertRefused(result, "PROJECT_REF is not set", "django_trigger.E007")

    def test_unknown_environment_slug(self):
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync("--env-file", self.env_file("A=1\n"), "-e", "qa")
        self.assertRefused(result, "--environment: unknown environment 'qa'")

    def test_branch_on_a_non_branch_environment(self):
        with self.pat_settings(ENVIRONMENT="dev"):
            result = self.sync("--env-file", self.env_file("A=1\n"), "-e", "prod", "--branch", "x")
        self.assertRefused(result, "--branch applies to preview (and dev) branches only")

    def test_unknown_secret_name(self):
        result = self.sync("--env-file", self.env_file("A=1\n"), "--secret", "TYPO")
        self.assertRefused(result, "--secret TYPO: TYPO is not defined by any source.")

    def test_every_problem_at_once(self):
        path = self.env_file("A=\nb-c=1\n")
        result = self.sync("--env-file", path, "-e", "prod", "--from-env", "NOT_SET_ANYWHERE")
        self.assertRefused(
            result,
            "secret key belongs to 'dev'",
            "A is empty",
            "'b-c' is not a valid name",
            "NOT_SET_ANYWHERE (--from-env)",
        )

    def test_bad_input_in_json_mode_is_a_json_document(self):
        result = self.sync("--env-file", self.env_file("A=\n"), "--format", "json")
        self.assertEqual(result.code, 1)
        document = json.loads(result.stdout)
        self.assertFalse(document["ok"])
        self.assertEqual(document["exit_code"], 1)
        self.assertIn("A is empty", document["errors"][0])


class SourcesOverHttpTests(SyncTestCase):
    def test_settings_envvars(self):
        with (
            mock.patch.dict(os.environ, {"FROM_PROCESS": "p"}),
            self.settings(ENVVARS={"LITERAL": "l", "FROM_PROCESS": None}),
        ):
            result = self.sync()
            self.assertEqual(result.code, 0, result.text)
            self.assertIn("TRIGGER['default']['ENVVARS']", result.stdout)
            self.journal.clear()
            result = self.sync("--env-file", self.env_file("ONLY_FILE=f\n"), "--no-settings")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(
            self.journal.last(method="POST").body["variables"], {"ONLY_FILE": REDACTED}
        )
        remote = self.remote()
        self.assertEqual(remote["ONLY_FILE"], ("f", False))
        self.assertEqual(remote["LITERAL"], ("l", False))
        self.assertEqual(remote["FROM_PROCESS"], ("p", False))

    def test_process_environment_names_and_prefix(self):
        fake = {
            "APP_ONE": "1",
            "APP_TWO": "2",
            "OTHER": "o",
            "UNLISTED": "u",
            "APP_PATH": "ok",
            "TRIGGER_SECRET_KEY": "tr_dev_zzz",
            "TRIGGER_PROJECT_REF": "proj_x",
        }
        # clear=True: the counts below must not depend on the machine's own TRIGGER_* variables.
        with mock.patch.dict(os.environ, fake, clear=True):
            result = self.sync("--from-env", "OTHER", "--prefix", "APP_", "--prefix", "TRIGGER_")
        self.assertEqual(result.code, 0, result.text)
        sent = self.journal.last(method="POST").body["variables"]
        self.assertEqual(sorted(sent), ["APP_ONE", "APP_PATH", "APP_TWO", "OTHER"])
        remote = self.remote()
        self.assertEqual(
            {name: remote[name][0] for name in sent},
            {"APP_ONE": "1", "APP_PATH": "ok", "APP_TWO": "2", "OTHER": "o"},
        )
        self.assertIn(
            "! TRIGGER_SECRET_KEY  environment (--prefix TRIGGER_): reserved", result.stdout
        )
        self.assertIn(
            "! 1 shell/tool or TRIGGER_* variable matched --prefix (-v 2 lists them)", result.stdout
        )
        self.assertNotIn("tr_dev_zzz", result.text)

    def test_parse_comments(self):
        path = self.env_file("A=value # a comment\n")
        result = self.sync("--env-file", path, "--dry-run")
        self.assertIn("Warning:", result.stdout)
        self.assertIn("--parse-comments", result.stdout)
        result = self.sync("--env-file", path, "--parse-comments")
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(self.remote()["A"], ("value ", False))

    def test_dollar_values_are_sent_raw(self):
        path = self.env_file("A=$HOME/x\nB='$B'\n")
        self.assertEqual(self.sync("--env-file", path).code, 0)
        self.assertEqual(
            self.journal.last(method="POST").body["variables"], {"A": REDACTED, "B": REDACTED}
        )
        self.assertEqual((self.remote()["A"][0], self.remote()["B"][0]), ("$HOME/x", "$B"))


class OutputTests(SyncTestCase):
    def test_values_never_shown_unless_asked(self):
        self.set_remote("OLD", "old-s3cret-1")
        path = self.env_file("OLD=new-s3cret-2\nNEW=new-s3cret-3\n")
        for args in (
            ["--dry-run"],
            ["--format", "json", "--dry-run"],
            ["-v", "3"],
            ["--prune", "--no-input", "--format", "json"],
        ):
            with self.subTest(args=args):
                self.emu.reset()
                self.set_remote("OLD", "old-s3cret-1")
                result = self.sync("--env-file", path, *args)
                self.assertNotIn("s3cret", result.text)
                self.assertNotIn(self.emu.secret_key, result.text)

    def test_show_values(self):
        self.set_remote("OLD", "old-value")
        path = self.env_file("OLD=new-value\nNEW=fresh\n")
        result = self.sync("--env-file", path, "--dry-run", "--show-values")
        self.assertIn('"old-value" → "new-value"', result.stdout)
        self.assertIn('"fresh"', result.stdout)
        document = json.loads(
            self.sync("--env-file", path, "--dry-run", "--show-values", "--format", "json").stdout
        )
        changes = {c["name"]: c for c in document["targets"][0]["plan"]["changes"]}
        self.assertEqual(
            (changes["OLD"]["value"], changes["OLD"]["remote_value"]), ("new-value", "old-value")
        )
        self.assertEqual(changes["DATABASE_URL"]["remote_value"], REDACTED)
        self.assertTrue(document["values_shown"])

    def test_json_document(self):
        path = self.env_file("NEW=n\nREGION=local\n")
        result = self.sync("--env-file", path, "--format", "json", "--no-input")
        self.assertEqual(result.code, 0, result.text)
        document = json.loads(result.stdout)
        self.assertEqual(document["exit_code"], 0)
        self.assertTrue(document["ok"])
        self.assertFalse(document["values_shown"])
        [target] = document["targets"]
        self.assertEqual(
            target["target"],
            {"project_ref": self.emu.project_ref, "environment": "dev", "branch": None},
        )
        changes = {c["name"]: c for c in target["plan"]["changes"]}
        self.assertEqual(
            changes["NEW"],
            {
                "action": "create",
                "name": "NEW",
                "reason": "new",
                "source": f"{path}:1",
                "secret": False,
                "value": None,
                "remote_value": None,
            },
        )
        self.assertEqual(changes["REGION"]["action"], "unchanged")
        self.assertEqual(changes["DATABASE_URL"]["action"], "keep")
        self.assertEqual(target["plan"]["counts"]["create"], 1)
        self.assertEqual(target["result"]["applied"], ["NEW"])
        self.assertEqual(target["result"]["requests"], 2)  # import + verification
        self.assertTrue(target["result"]["verification"]["ok"])
        self.assertEqual(document["sources"], [{"source": path, "definitions": 2}])
        self.assertEqual(result.stderr, "")

    def test_check_in_json(self):
        path = self.env_file("LOG_LEVEL=warning\n")
        result = self.sync("--env-file", path, "--check", "--format", "json")
        self.assertEqual(result.code, 3)
        self.assertEqual(json.loads(result.stdout)["exit_code"], 3)

    def test_verbosity_2_shows_requests_and_unchanged_rows(self):
        path = self.env_file("REGION=local\nNEW=n\n")
        result = self.sync("--env-file", path, "-v", "2")
        self.assertEqual(result.code, 0, result.text)
        self.assertIn(f"  HTTP GET {self.path()} -> 200", result.stdout)
        self.assertIn(f"  HTTP POST {self.path(suffix='/import')} -> 200", result.stdout)
        self.assertIn("= unchanged  REGION", result.stdout)
        self.assertIn("· keep", result.stdout)
        self.assertIn("import of 1 variable (override=false)…", result.stdout)
        self.assertNotIn(self.emu.secret_key, result.stdout)

    def test_verbosity_0_is_quiet(self):
        result = self.sync("--env-file", self.env_file("NEW=n\n"), "-v", "0")
        self.assertEqual(result.code, 0)
        self.assertEqual(result.stdout, "")

    def test_help_states_the_dotenv_rules_and_exit_codes(self):
        command = load_command_class(get_commands()["trigger_sync_envvars"], "trigger_sync_envvars")
        text = command.create_parser("manage.py", "trigger_sync_envvars").format_help()
        for fragment in (
            "--parse-comments",
            "'$' is never expanded",
            "a value cannot span",
            "Exit codes: 0",
            "3 --check",
            "--no-input",
            "--noinput",
            "--yes",
            "lowest precedence first",
        ):
            self.assertIn(fragment, " ".join(text.split()))


class ProcessExitCodeTests(SyncTestCase):
    """The exit codes as a shell sees them: ``python -m django trigger_sync_envvars``."""

    def start_process(self, *args: str) -> subprocess.Popen:
        settings_file = self.dir / "sync_settings.py"
        if not settings_file.exists():  # once: processes running at once read it
            trigger = {"default": self.emu.client_settings()}
            settings_file.write_text(
                f"from tests.settings import *  # noqa\nTRIGGER = {trigger!r}\n"
            )
        root = Path(__file__).resolve().parents[2]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(self.dir), str(root)]),
            "DJANGO_SETTINGS_MODULE": "sync_settings",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "trigger_sync_envvars", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
        )
        self.addCleanup(self.stop_process, process)
        return process

    @staticmethod
    def stop_process(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.communicate()

    def finish(self, process: subprocess.Popen) -> subprocess.CompletedProcess:
        stdout, stderr = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def test_exit_codes(self):
        drift = self.env_file("LOG_LEVEL=warning\n")
        same = self.env_file("LOG_LEVEL=debug\n", "same.env")
        # The read-only runs at once (each is a fresh Python importing Django), then the change.
        same_checked = self.start_process("--env-file", same, "--check")
        checked = self.start_process("--env-file", drift, "--check")
        bad = self.start_process("--env-file", str(self.dir / "missing.env"))
        unknown_option = self.start_process("--no-such-option")
        self.assertEqual(self.finish(same_checked).returncode, 0)
        checked = self.finish(checked)
        self.assertEqual(checked.returncode, 3, checked.stderr)
        self.assertIn("CommandError: Changes to make in", checked.stderr)
        bad = self.finish(bad)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("cannot read the file", bad.stderr)
        self.assertEqual(self.finish(unknown_option).returncode, 2)
        applied = self.finish(self.start_process("--env-file", drift, "--no-input"))
        self.assertEqual(applied.returncode, 0, applied.stderr)
        self.assertEqual(self.remote()["LOG_LEVEL"], ("warning", False))
