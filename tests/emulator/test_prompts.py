"""The emulator's prompt routes at the wire: body validation, the loader/action 404 order, the
retrieve route, and a public token's scopes."""

from __future__ import annotations

import time

from django_trigger.testing.jwt import public_access_token

from .base import EmulatorCase


class PromptRouteTests(EmulatorCase):
    def token(self, *scopes: str) -> str:
        token, _ = public_access_token(
            self.emu.secret_key, self.dev_env.id, list(scopes), int(time.time())
        )
        return token

    def test_resolve_body_validation(self):
        response = self.post("/api/v1/prompts/summarize", json={"variables": ["a"]})
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn("variables", response.json()["error"])
        response = self.post("/api/v1/prompts/summarize", json={"version": "1"})
        self.assertEqual(response.status_code, 400, response.text)
        response = self.post("/api/v1/prompts/summarize", json={})  # variables default to {}
        self.assertEqual(response.json()["data"]["text"], "Summarize: ")
        response = self.post("/api/v1/prompts/summarize/promote", json={"version": 0})
        self.assertEqual(response.status_code, 400, response.text)
        response = self.post(
            "/api/v1/prompts/summarize/override", json={"textContent": "x", "source": "code"}
        )
        self.assertEqual(response.status_code, 400, response.text)
        self.assert_no_server_errors()

    def test_unknown_prompt_loader_answers_before_auth_action_after(self):
        outsider = self.token("read:prompts:other")
        response = self.get("/api/v1/prompts/nope/versions", token=outsider)
        self.assertError(response, 404, "Not found")
        self.assertEqual(response.headers["x-should-retry"], "false")
        self.assertEqual(
            self.post("/api/v1/prompts/nope", json={}, token=outsider).status_code, 403
        )
        self.assertError(self.post("/api/v1/prompts/nope", json={}), 404, "Prompt not found")

    def test_retrieve(self):
        body = self.get("/api/v1/prompts/support-reply?label=stable").json()["data"]
        self.assertEqual(body["slug"], "support-reply")
        self.assertEqual(body["version"]["version"], 1)
        self.assertEqual(body["defaultConfig"], {"temperature": 0.2})
        self.assertEqual(
            self.get("/api/v1/prompts/support-reply?version=2").json()["data"]["version"]["labels"],
            ["current"],
        )
        self.assertError(
            self.get("/api/v1/prompts/support-reply?version=5"), 404, "No version found"
        )
        self.assertEqual(self.get("/api/v1/prompts/support-reply?version=x").status_code, 400)

    def test_update_scope(self):
        reader = self.token("read:prompts")
        self.assertEqual(
            self.post("/api/v1/prompts/summarize", json={}, token=reader).status_code, 200
        )
        self.assertEqual(
            self.call("DELETE", "/api/v1/prompts/summarize/override", token=reader).status_code, 403
        )
        writer = self.token("update:prompts:summarize")
        self.assertEqual(
            self.call("DELETE", "/api/v1/prompts/summarize/override", token=writer).json(),
            {"ok": True},
        )
