"""The journal: every request with method, path, query, masked headers, body, status."""

from __future__ import annotations

from django_trigger.testing.journal import redact_token

from .base import EmulatorCase


class JournalTests(EmulatorCase):
    def test_entries_record_the_request(self):
        self.get(
            "/api/v1/runs",
            params={"filter[status]": "COMPLETED,FAILED", "page[size]": 5},
            headers={"x-trigger-source": "tests"},
        )
        self.post("/api/v1/tasks/send-email/trigger", json={"payload": {"to": "ünï"}})
        first, second = self.emu.journal.entries
        self.assertEqual((first.method, first.path, first.status), ("GET", "/api/v1/runs", 200))
        self.assertEqual(first.query, {"filter[status]": ["COMPLETED,FAILED"], "page[size]": ["5"]})
        self.assertEqual(first.header("X-Trigger-Source"), "tests")
        self.assertIsNone(first.body)
        self.assertGreater(first.duration, 0)
        self.assertEqual(second.body, {"payload": {"to": "ünï"}})
        self.assertEqual(second.response_headers["x-ratelimit-limit"], "750")

    def test_counting_helpers(self):
        for _ in range(3):
            self.get("/api/v1/runs")
        self.post("/api/v2/runs/run_x/cancel")
        journal = self.emu.journal
        self.assertEqual(journal.count(), 4)
        self.assertEqual(journal.count(method="get"), 3)
        self.assertEqual(journal.count(path="/api/v1/runs"), 3)
        self.assertEqual(journal.count(path_prefix="/api/v2/"), 1)
        self.assertEqual(journal.count(status=404), 1)
        self.assertEqual(journal.last().path, "/api/v2/runs/run_x/cancel")
        self.assertEqual(journal.last(method="GET").method, "GET")
        self.assertIsNone(journal.last(path="/nowhere"))
        journal.clear()
        self.assertEqual((journal.count(), journal.last()), (0, None))

    def test_tokens_never_reach_the_journal(self):
        tokens = [self.emu.secret_key, self.emu.secret_keys["prod"], self.emu.access_token]
        for token in tokens:
            self.get("/api/v1/runs", token=token)
        response = self.post("/api/v1/tasks/send-email/trigger", json={"payload": {}})
        jwt = response.headers["x-trigger-jwt"]
        self.get(f"/api/v3/runs/{response.json()['id']}", token=jwt)
        self.call("GET", "/api/v1/runs", token=None, headers={"Cookie": f"s={tokens[0]}"})
        dump = repr(self.emu.journal.entries)
        for secret in (*tokens, jwt, jwt.split(".")[2]):
            self.assertNotIn(secret, dump)
        entry = self.emu.journal.entries[0]
        self.assertEqual(entry.header("authorization"), "Bearer " + redact_token(tokens[0]))
        self.assertEqual(entry.credential, "tr_dev_…" + tokens[0][-4:])
        self.assertEqual(self.emu.journal.entries[2].credential, "tr_pat_…" + tokens[2][-4:])

    def test_redaction_of_short_and_missing_tokens(self):
        self.assertEqual(redact_token(None), "<none>")
        self.assertEqual(redact_token("tr_dev_short"), "tr_dev_…")
        self.assertEqual(redact_token("tr_dev_sk_abcdefghijklmnop"), "tr_dev_sk_…mnop")

    def test_env_var_values_never_reach_the_journal(self):
        """Create, update, import (JSON, branch parent values, multipart dotenv upload): the
        names stay visible, every value is ``<redacted>``."""
        base = f"/api/v1/projects/{self.emu.project_ref}/envvars"
        pat = self.emu.access_token
        secrets = [
            "s3cret-create",
            "s3cret-put",
            "s3cret-post",
            "s3cret-import",
            "s3cret-parent",
            "s3cret-upload",
            "s3cret-raw",
            "s3cret-list",
        ]
        self.post(f"{base}/dev", token=pat, json={"name": "A", "value": secrets[0]})
        self.put(f"{base}/dev/A", token=pat, json={"value": secrets[1]})
        self.post(f"{base}/dev/A", token=pat, json={"value": secrets[2]})
        self.post(
            f"{base}/preview/import",
            token=pat,
            headers={"x-trigger-branch": "feature-login"},
            json={
                "variables": {"B": secrets[3]},
                "parentVariables": {"C": secrets[4]},
                "override": True,
            },
        )
        self.post(
            f"{base}/dev/import",
            token=pat,
            data={"override": "true"},
            files={"variables": ("x.env", f"D={secrets[5]}\nE='multi\nline'\n")},
        )
        self.post(f"{base}/dev", token=pat, data=f"not json {secrets[6]}")
        self.post(
            f"{base}/dev/import",
            token=pat,
            json={"variables": [{"name": "F", "value": secrets[7]}]},
        )
        bodies = [entry.body for entry in self.emu.journal.entries]
        self.assertEqual(
            bodies,
            [
                {"name": "A", "value": "<redacted>"},
                {"value": "<redacted>"},
                {"value": "<redacted>"},
                {
                    "variables": {"B": "<redacted>"},
                    "parentVariables": {"C": "<redacted>"},
                    "override": True,
                },
                {"override": "true", "variables": {"D": "<redacted>", "E": "<redacted>"}},
                "<redacted>",
                {"variables": [{"name": "F", "value": "<redacted>"}]},
            ],
        )
        self.assertEqual(
            [entry.status for entry in self.emu.journal.entries][:5], [200, 200, 200, 200, 200]
        )  # the values did reach the service
        dump = repr(self.emu.journal.entries)
        for secret in secrets:
            self.assertNotIn(secret, dump)
        with self.emu.state.lock:
            env = self.dev_env
            self.assertEqual(self.emu.state.envvars.value(env, "D"), secrets[5])

    def test_other_bodies_are_kept_as_sent(self):
        self.post("/api/v1/tasks/send-email/trigger", json={"payload": {"value": "visible"}})
        self.assertEqual(self.emu.journal.last().body, {"payload": {"value": "visible"}})
