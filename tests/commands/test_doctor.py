"""``manage.py trigger_doctor`` over real HTTP against the emulator: every finding, each
failure (unreachable API, wrong key, wrong project, wrong environment, missing branch, skewed
clock, low rate-limit headroom), the request count and the JSON document."""

from __future__ import annotations

import json
import socket

from django.test import override_settings

from .base import SyncTestCase

UNKNOWN_KEY = "tr_dev_" + "x" * 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DoctorTests(SyncTestCase):
    def doctor(self, *args: str):
        return self.command("trigger_doctor", *args)

    def findings(self, *args: str) -> tuple[int, dict[str, dict]]:
        result = self.doctor("--format", "json", *args)
        document = json.loads(result.stdout)
        self.assertEqual(document["exit_code"], result.code)
        findings = {f["check"]: f for f in document["clients"][0]["findings"]}
        return result.code, findings

    def test_healthy_secret_key(self):
        result = self.doctor()
        self.assertEqual(result.code, 0, result.text)
        self.assertEqual(
            self.requests(),
            [
                ("GET", f"/api/v1/projects/{self.emu.project_ref}/dev"),
                ("GET", "/api/v1/runs"),
                ("GET", "/api/v1/deployments/current"),
            ],
        )
        out = result.stdout
        for check in ("api", "credentials", "project", "runs", "clock", "rate_limit", "deployment"):
            self.assertRegex(out, rf"\n  ok +{check} ")
        self.assertIn("The secret key is accepted.", out)
        self.assertIn(f"({self.emu.project_ref}), environment dev.", out)
        self.assertIn("of 750 requests left", out)
        self.assertIn("0 error(s), 0 warning(s).", out)
        self.assertNotIn(self.emu.secret_key, out)

    def test_json_for_monitoring(self):
        code, findings = self.findings()
        self.assertEqual(code, 0)
        self.assertEqual(findings["rate_limit"]["details"]["limit"], 750)
        self.assertEqual(findings["clock"]["status"], "ok")
        self.assertIn("seconds", findings["api"]["details"])

    def test_deployed_version_of_prod(self):
        prod_key = self.emu.secret_keys["prod"]
        with self.settings(ACCESS_TOKEN=prod_key, ENVIRONMENT="prod"):
            code, findings = self.findings()
        self.assertEqual(code, 0, findings)
        with self.emu.state.lock:
            env = self.environment("prod")
            current = self.emu.state.deployments.current_for(env)
        self.assertEqual(findings["deployment"]["details"]["version"], current.version)
        self.assertEqual(findings["project"]["details"]["environment"], "prod")

    def test_unreachable_api_is_one_error_and_stops(self):
        with self.settings(API_URL=f"http://127.0.0.1:{free_port()}"):
            result = self.doctor()
        self.assertEqual(result.code, 1)
        self.assertRegex(result.stdout, r"error +api +No answer from http://127.0.0.1:\d+")
        self.assertIn("hint: Check API_URL", result.stdout)
        self.assertNotIn("credentials", result.stdout)
        self.assertIn("trigger_doctor found 1 error(s).", result.message)

    def test_wrong_key(self):
        with self.settings(ACCESS_TOKEN=UNKNOWN_KEY):
            code, findings = self.findings()
        self.assertEqual(code, 1)
        self.assertEqual(findings["credentials"]["status"], "error")
        self.assertIn("Invalid API key", findings["credentials"]["message"])
        self.assertEqual(findings["api"]["status"], "ok")  # it answered

    def test_key_of_another_project(self):
        other = self.emu.state.second_project.ref
        with self.settings(PROJECT_REF=other):
            code, findings = self.findings()
        self.assertEqual(code, 1)
        self.assertEqual(findings["credentials"]["status"], "ok")
        self.assertEqual(findings["project"]["status"], "error")
        self.assertIn(f"another project than PROJECT_REF {other}", findings["project"]["message"])

    def test_wrong_environment_for_the_secret_key(self):
        with self.settings(ENVIRONMENT="prod"):
            code, findings = self.findings()
        self.assertEqual(code, 1)
        self.assertEqual(findings["configuration"]["status"], "error")
        self.assertIn("ENVIRONMENT is 'prod'", findings["configuration"]["message"])
        self.assertEqual(self.requests(), [])  # nothing sent

    def test_personal_token_project_not_visible(self):
        with self.pat_settings(ENVIRONMENT="prod", PROJECT_REF=self.emu.state.foreign_project.ref):
            code, findings = self.findings()
        self.assertEqual(code, 1, findings)
        self.assertEqual(findings["project"]["status"], "error")
        self.assertIn("is not visible to this token", findings["project"]["message"])
        self.assertIn("Project not found", findings["project"]["message"])
        self.assertEqual(findings["deployment"]["status"], "skipped")

    def test_environment_option_contradicting_the_key(self):
        result = self.doctor("-e", "prod")
        self.assertEqual(result.code, 1)
        self.assertIn("contradicts the secret key", result.stdout)
        self.assertEqual(self.requests(), [])

    def test_personal_token_healthy(self):
        with self.pat_settings(ENVIRONMENT="prod"):
            code, findings = self.findings()
        self.assertEqual(code, 0, findings)
        self.assertIn("personal access token is accepted", findings["credentials"]["message"])
        self.assertEqual(findings["runs"]["status"], "ok")

    def test_missing_preview_branch(self):
        with self.pat_settings(ENVIRONMENT="preview", PREVIEW_BRANCH="no-such-branch"):
            code, findings = self.findings()
        self.assertEqual(code, 1, findings)
        self.assertEqual(findings["branch"]["status"], "error")
        self.assertIn("Branch not found", findings["branch"]["message"])

    def test_existing_preview_branch(self):
        branch = self.emu.preview_branches[0]
        with self.pat_settings(ENVIRONMENT="preview", PREVIEW_BRANCH=branch):
            code, findings = self.findings()
        self.assertEqual(code, 0, findings)
        self.assertEqual(findings["branch"]["status"], "ok")

    def test_skewed_clock(self):
        self.emu.clock.advance(600)  # the server's Date is 10 minutes ahead
        self.addCleanup(self.emu.clock.advance, -600)
        code, findings = self.findings()
        self.assertEqual(code, 1)
        self.assertEqual(findings["clock"]["status"], "error")
        self.assertAlmostEqual(findings["clock"]["details"]["skew_seconds"], 600, delta=3)
        self.assertIn("behind", findings["clock"]["message"])

    def test_low_rate_limit_headroom_is_a_warning(self):
        self.emu.faults.respond_next(
            1,
            200,
            path="/api/v1/runs",
            headers={
                "x-ratelimit-limit": "750",
                "x-ratelimit-remaining": "12",
                "x-ratelimit-reset": "1700000000000",
            },
            body={"data": [], "pagination": {}},
        )
        code, findings = self.findings()
        self.assertEqual(code, 0)
        self.assertEqual(findings["rate_limit"]["status"], "warning")
        self.assertEqual(findings["rate_limit"]["details"]["remaining"], 12)

    def test_every_alias_by_default_and_one_with_client(self):
        aliases = {
            "default": self.emu.client_settings(),
            "broken": self.emu.client_settings(ACCESS_TOKEN=UNKNOWN_KEY),
        }
        with override_settings(TRIGGER=aliases):
            result = self.doctor("--format", "json")
            only = self.doctor("--client", "default")
        document = json.loads(result.stdout)
        self.assertEqual([c["alias"] for c in document["clients"]], ["default", "broken"])
        self.assertEqual(result.code, 1)
        self.assertEqual(document["errors"], 1)
        self.assertEqual(only.code, 0, only.text)
        self.assertNotIn("broken", only.stdout)

    def test_server_whose_project_route_refuses_secret_keys(self):
        # Versions of the service before the route took secret keys answer every key with 401
        # there; the key is still good for everything else.
        self.emu.faults.respond_next(
            1,
            401,
            body={"error": "Invalid or Missing Access Token"},
            path=f"/api/v1/projects/{self.emu.project_ref}/dev",
        )
        code, findings = self.findings()
        self.assertEqual(code, 0, findings)
        self.assertEqual(findings["credentials"]["status"], "ok")
        self.assertEqual(findings["project"]["status"], "warning")
        self.assertIn("does not tell which project", findings["project"]["message"])
        self.assertEqual(findings["runs"]["status"], "ok")

    def test_wrong_key_is_refused_by_both_routes(self):
        with self.settings(ACCESS_TOKEN=UNKNOWN_KEY):
            self.findings()
        self.assertEqual(
            [path for _method, path in self.requests()],
            [f"/api/v1/projects/{self.emu.project_ref}/dev", "/api/v1/runs"],
        )
