"""``client.prompts`` against the emulator over real HTTP: resolving (the server's template
rules), versions and labels, overrides, public tokens, request counts, and bad input refused
before anything is sent."""

from __future__ import annotations

import time

from django.test import SimpleTestCase

from django_trigger.exceptions import (
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
)
from django_trigger.testing.jwt import public_access_token
from django_trigger.testing.resources.prompts import compile_template
from django_trigger.types import PromptListItem, ResolvedPrompt

from .base import ClientTestCase

PROMPTS = "/api/v1/prompts"


class CompileTemplateTests(SimpleTestCase):
    """The emulator's renderer against the server's ``compileTemplate`` rules."""

    def test_rules(self):
        cases = [
            ("Hi {{name}}", {"name": "Ann"}, "Hi Ann"),
            ("Hi {{ name }}", {"name": "Ann"}, "Hi Ann"),
            ("Hi {{name}}", {}, "Hi "),  # missing: empty
            ("Hi {{name}}", {"name": None}, "Hi "),
            ("<{{html}}>", {"html": "<b>&</b>"}, "<<b>&</b>>"),  # no escaping
            (
                "{{n}} {{f}} {{t}} {{l}} {{o}}",
                {"n": 3, "f": 1.0, "t": True, "l": [1, None, "x"], "o": {"a": 1}},
                "3 1 true 1,,x [object Object]",
            ),
            ("{{#vip}}VIP {{name}}{{/vip}}!", {"vip": True, "name": "Bo"}, "VIP Bo!"),
            ("{{#vip}}VIP{{/vip}}!", {"vip": 0}, "!"),
            ("{{#vip}}VIP{{/vip}}!", {"vip": []}, "VIP!"),  # [] is truthy in JavaScript
            ("{{#a}}{{ b }}{{/a}}", {"a": 1, "b": 2}, "2"),  # spaced inner: second pass
            ("{{my-var}} {{ }}", {"my-var": 1}, "{{my-var}} {{ }}"),  # not a variable
        ]
        for template, variables, expected in cases:
            with self.subTest(template):
                self.assertEqual(compile_template(template, variables), expected)


class PromptClientTests(ClientTestCase):
    def test_resolve_renders_the_current_version(self):
        self.journal.clear()
        resolved = self.trigger.prompts.resolve(
            "support-reply", {"name": "Ann", "ticket": 42, "urgent": True}
        )
        self.assertEqual(len(self.journal.entries), 1)
        self.assertIsInstance(resolved, ResolvedPrompt)
        self.assertEqual(resolved.version, 2)
        self.assertEqual(resolved.labels, ["current"])
        self.assertEqual(resolved.text, "Hi Ann! About ticket 42: (urgent, Ann)")
        self.assertEqual(resolved.model, "gpt-4o")
        self.assertEqual(resolved.config, {"temperature": 0.2})  # the prompt's default
        self.assertTrue(resolved.prompt_id.startswith("prompt_"))
        post = self.journal.last(method="POST")
        self.assertEqual(post.path, PROMPTS + "/support-reply")
        self.assertEqual(post.body, {"variables": {"name": "Ann", "ticket": 42, "urgent": True}})

    def test_resolve_by_label_and_version(self):
        by_label = self.trigger.prompts.resolve("support-reply", {"name": "Bo"}, label="stable")
        self.assertEqual((by_label.version, by_label.text), (1, "Hello Bo, thanks for writing."))
        self.assertEqual(
            self.journal.last(method="POST").body, {"variables": {"name": "Bo"}, "label": "stable"}
        )
        by_version = self.trigger.prompts.resolve("support-reply", version=1)
        self.assertEqual(by_version.text, "Hello , thanks for writing.")  # missing variable
        self.assertEqual(self.journal.last(method="POST").body, {"variables": {}, "version": 1})

    def test_unknown_prompt_version_and_label(self):
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.prompts.resolve("no-such-prompt")
        self.assertIn("Prompt not found", str(caught.exception))
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.prompts.resolve("support-reply", version=9)
        self.assertIn("No version found", str(caught.exception))
        with self.assertRaises(NotFoundError):
            self.trigger.prompts.resolve("support-reply", label="nope")
        with self.assertRaises(NotFoundError):  # its only version has no label
            self.trigger.prompts.resolve("draft-only")
        self.assertEqual(self.trigger.prompts.resolve("draft-only", version=1).text, "Draft ")
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.prompts.versions("no-such-prompt")
        self.assertIn("Not found", str(caught.exception))

    def test_list_and_versions(self):
        self.journal.clear()
        prompts = self.trigger.prompts.list()
        self.assertEqual(len(self.journal.entries), 1)
        self.assertTrue(all(isinstance(p, PromptListItem) for p in prompts))
        self.assertEqual([p.slug for p in prompts], ["summarize", "support-reply", "draft-only"])
        reply = prompts[1]
        self.assertEqual(
            (reply.current_version, reply.has_override, reply.default_model), (2, False, "gpt-4o")
        )
        self.assertIsNone(prompts[2].current_version)
        versions = self.trigger.prompts.versions("support-reply")
        self.assertEqual(
            [(v.version, v.labels, v.source) for v in versions],
            [(2, ["current"], "code"), (1, ["stable"], "code")],
        )
        self.assertEqual(len(versions[0].content_hash), 16)

    def test_promote_moves_current(self):
        self.assertTrue(self.trigger.prompts.promote("support-reply", 1).ok)
        self.assertEqual(self.trigger.prompts.resolve("support-reply").version, 1)
        self.assertEqual(
            self.journal.last(method="POST", path=PROMPTS + "/support-reply/promote").body,
            {"version": 1},
        )
        with self.assertRaises(NotFoundError) as caught:
            self.trigger.prompts.promote("support-reply", 7)
        self.assertIn("Version 7 not found", str(caught.exception))

    def test_override_lifecycle(self):
        created = self.trigger.prompts.create_override(
            "support-reply", "Dear {{name}}", model="gpt-4.1", commit_message="tone"
        )
        self.assertEqual((created.ok, created.version), (True, 3))
        self.assertEqual(
            self.journal.last(method="POST").body,
            {"textContent": "Dear {{name}}", "model": "gpt-4.1", "commitMessage": "tone"},
        )
        # the override wins over the current version, even over a label asked for
        resolved = self.trigger.prompts.resolve("support-reply", {"name": "Cy"}, label="stable")
        self.assertEqual(
            (resolved.version, resolved.text, resolved.model), (3, "Dear Cy", "gpt-4.1")
        )
        listed = {p.slug: p for p in self.trigger.prompts.list()}
        self.assertTrue(listed["support-reply"].has_override)
        self.assertEqual(listed["support-reply"].default_model, "gpt-4.1")
        # an override cannot be promoted
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.prompts.promote("support-reply", 3)
        self.assertIn("Only code-sourced versions", str(caught.exception))

        self.trigger.prompts.update_override("support-reply", text_content="Dearest {{name}}")
        self.assertEqual(self.journal.last(method="PUT").body, {"textContent": "Dearest {{name}}"})
        self.assertEqual(
            self.trigger.prompts.resolve("support-reply", {"name": "Cy"}).text, "Dearest Cy"
        )

        self.trigger.prompts.remove_override("support-reply")
        self.assertEqual(self.trigger.prompts.resolve("support-reply").version, 2)
        self.trigger.prompts.remove_override("support-reply")  # a no-op
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.prompts.update_override("support-reply", model="x")
        self.assertIn("No active override to update", str(caught.exception))

        self.trigger.prompts.reactivate_override("support-reply", 3)
        self.assertEqual(self.trigger.prompts.resolve("support-reply").version, 3)
        with self.assertRaises(BadRequestError) as caught:
            self.trigger.prompts.reactivate_override("support-reply", 1)
        self.assertIn("cannot be reactivated", str(caught.exception))

    def test_create_override_is_not_retried_after_sending(self):
        self.emulator.faults.drop_next(
            1, after_processing=True, method="POST", path=PROMPTS + "/summarize/override"
        )
        with self.assertRaises(OutcomeUnknownError):
            self.trigger.prompts.create_override("summarize", "New")
        self.assertEqual(self.journal.count(path=PROMPTS + "/summarize/override"), 1)
        self.assertEqual(self.trigger.prompts.versions("summarize")[0].labels, ["override"])

    def test_public_token_scopes(self):
        # The SDK's scope builder has no prompts kind: sign the scopes as the service would.
        with self.emulator.state.lock:
            env_id = self.emulator.state.environment_for_key(self.emulator.secret_key).id
        token, _ = public_access_token(
            self.emulator.secret_key, env_id, ["read:prompts:support-reply"], int(time.time())
        )
        public = self.make_client(token)
        self.assertEqual(public.prompts.resolve("support-reply").version, 2)
        with self.assertRaises(PermissionDeniedError):
            public.prompts.resolve("summarize")
        with self.assertRaises(PermissionDeniedError):
            public.prompts.create_override("support-reply", "x")
        with self.assertRaises(PermissionDeniedError):
            public.prompts.list()

    def test_raw_response(self):
        raw = self.trigger.prompts.with_raw_response.resolve("summarize", {"text": "abc"})
        self.assertEqual(raw.status_code, 200)
        self.assertEqual(raw.parse().text, "Summarize: abc")

    def test_bad_input_is_refused_before_sending(self):
        self.journal.clear()
        cases = [
            (lambda: self.trigger.prompts.resolve("", {}), "slug must not be empty"),
            (lambda: self.trigger.prompts.resolve(".."), "not allowed in a path"),
            (lambda: self.trigger.prompts.resolve("s", ["a"]), "variables must be a mapping"),
            (lambda: self.trigger.prompts.resolve("s", {1: "a"}), "variable names must be"),
            (lambda: self.trigger.prompts.resolve("s", {"a": object()}), "JSON values"),
            (lambda: self.trigger.prompts.resolve("s", {"a": float("nan")}), "JSON values"),
            (lambda: self.trigger.prompts.resolve("s", version=0), "positive integer"),
            (lambda: self.trigger.prompts.resolve("s", version="2"), "positive integer"),
            (lambda: self.trigger.prompts.resolve("s", label=3), "label must be a string"),
            (lambda: self.trigger.prompts.promote("s", True), "positive integer"),
            (lambda: self.trigger.prompts.create_override("s", None), "text_content"),
            (lambda: self.trigger.prompts.create_override("s", "x", source="code"), "reserved"),
            (lambda: self.trigger.prompts.update_override("s", model=1), "model must be"),
        ]
        for call, message in cases:
            with self.subTest(message):
                with self.assertRaises(InvalidRequestError) as caught:
                    call()
                self.assertIn(message, str(caught.exception))
        self.assertEqual(self.journal.entries, [])
