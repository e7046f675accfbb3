"""``client.environments`` (pause, resume, regenerate_api_key) over HTTP: personal access
tokens only, explicit confirmation for what stops work, the new key kept secret."""

from __future__ import annotations

import logging

import requests

from django_trigger.exceptions import AuthenticationError, InvalidRequestError, NotFoundError

from .base import ClientTestCase


class EnvironmentOpsTests(ClientTestCase):
    def env(self, env_type: str = "DEVELOPMENT"):
        state = self.emulator.state
        with state.lock:
            if env_type == "DEVELOPMENT":
                return state.environment_for_key(self.emulator.secret_key)
            return state.environment(self.emulator.project_ref, env_type)

    def paused(self, env_type: str = "DEVELOPMENT") -> bool:
        with self.emulator.state.lock:
            return self.env(env_type).id in self.emulator.state.environment_states.paused

    def test_pause_and_resume(self):
        pat = self.pat_client(environment="prod")
        state = pat.environments.pause(confirm=True)
        self.assertEqual((state.paused, state.state), (True, "paused"))
        self.assertTrue(self.paused("PRODUCTION"))
        self.assertFalse(self.paused())  # only that environment
        self.assertTrue(pat.environments.pause(confirm=True).paused)  # again: no change
        state = pat.environments.resume()
        self.assertEqual((state.paused, state.state), (False, "resumed"))
        self.assertFalse(self.paused("PRODUCTION"))
        self.assertEqual(pat.environments.resume().state, "resumed")
        paths = [entry.path for entry in self.journal.entries]
        self.assertEqual(
            paths,
            [f"/api/v1/projects/{self.emulator.project_ref}/prod/pause"] * 2
            + [f"/api/v1/projects/{self.emulator.project_ref}/prod/resume"] * 2,
        )

    def test_staging_by_argument(self):
        pat = self.pat_client()
        pat.environments.pause(confirm=True, environment="stg")
        self.assertTrue(self.paused("STAGING"))
        self.assertEqual(
            self.journal.entries[-1].path,
            f"/api/v1/projects/{self.emulator.project_ref}/staging/pause",
        )

    def test_regenerate_replaces_the_key(self):
        old_key = self.emulator.secret_key
        pat = self.pat_client()
        with self.assertLogs("django_trigger", logging.DEBUG) as logs:
            answer = pat.environments.regenerate_api_key(confirm=True)
        new_key = str(answer.api_key)
        self.assertTrue(new_key.startswith("tr_dev_"))
        self.assertNotEqual(new_key, old_key)
        self.assertNotIn(new_key, repr(answer))
        self.assertNotIn(new_key, "\n".join(logs.output))
        self.make_client(new_key).runs.list()
        self.make_client(old_key).runs.list()  # the old key's 24 h grace period
        self.emulator.clock.advance(24 * 3600 - 5)
        self.make_client(old_key).runs.list()
        self.emulator.clock.advance(10)
        with self.assertRaises(AuthenticationError):
            self.make_client(old_key).runs.list()
        self.make_client(new_key).runs.list()
        self.assertEqual(len(self.journal.entries), 6)

    def test_what_stops_work_needs_confirm(self):
        pat = self.pat_client()
        for call in (pat.environments.pause, pat.environments.regenerate_api_key):
            for confirm in (False, "yes", 1):
                with (
                    self.subTest(call=call.__name__, confirm=confirm),
                    self.assertRaisesRegex(InvalidRequestError, "pass confirm=True"),
                ):
                    call(confirm=confirm)
        with self.assertRaisesRegex(InvalidRequestError, "invalidates the environment's"):
            pat.environments.regenerate_api_key()
        self.assertEqual(len(self.journal), 0)
        self.assertFalse(self.paused())

    def test_bad_input_is_refused_before_sending(self):
        pat = self.pat_client()
        with self.assertRaisesRegex(InvalidRequestError, "environment must be dev"):
            pat.environments.resume(environment="live")
        with self.assertRaisesRegex(InvalidRequestError, "project_ref"):
            pat.environments.resume(project_ref="not-a-ref")
        with self.assertRaisesRegex(InvalidRequestError, "personal access token"):
            self.trigger.environments.pause(confirm=True)  # a secret key client
        self.assertEqual(len(self.journal), 0)

    def test_a_project_the_token_cannot_see(self):
        pat = self.pat_client()
        with self.emulator.state.lock:
            foreign = self.emulator.state.foreign_project.ref
        with self.assertRaisesRegex(NotFoundError, "Project not found"):
            pat.environments.pause(confirm=True, project_ref=foreign)

    def test_the_routes_refuse_secret_keys_and_bad_env(self):
        """The emulator is no kinder than the routes for a client that does not check."""
        base = f"{self.emulator.base_url}/api/v1/projects/{self.emulator.project_ref}"
        for token in (self.emulator.secret_key, "tr_pat_" + "x" * 40):
            headers = {"Authorization": f"Bearer {token}"}
            answer = requests.post(f"{base}/dev/regenerate-api-key", headers=headers, timeout=5)
            self.assertEqual(answer.status_code, 401)
            self.assertEqual(answer.json(), {"error": "Invalid or Missing Access Token"})
        answer = requests.post(
            f"{base}/live/pause",
            timeout=5,
            headers={"Authorization": f"Bearer {self.emulator.access_token}"},
        )
        self.assertEqual((answer.status_code, answer.json()), (400, {"error": "Invalid Params"}))
        with self.emulator.state.lock:
            self.assertEqual(self.env().api_key, self.emulator.secret_key)
