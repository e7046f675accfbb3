"""Queues (API.md §6.6): family-A auth and scopes, offset list, retrieve by id/task/custom with
the ``%2F`` rule, pause/resume, concurrency override/reset, live counts, and the QueueItem
shape against the OpenAPI file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.conformance.openapi import OpenApiShapes

from .base import FROZEN_NOW, EmulatorCase

QUEUES = "/api/v1/queues"
RBAC_403 = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}
CONCURRENCY_KEYS = {"current", "base", "override", "overriddenAt", "overriddenBy"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwt(env: Any, scopes: list[str]) -> str:
    """A public access token for ``env`` (HS256 with the environment's secret key)."""
    header = _b64(json.dumps({"alg": "HS256"}).encode())
    payload = _b64(
        json.dumps(
            {
                "sub": env.id,
                "pub": True,
                "scopes": scopes,
                "iss": "https://id.trigger.dev",
                "aud": "https://api.trigger.dev",
            }
        ).encode()
    )
    signature = hmac.new(
        env.api_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class QueueCase(OpenApiShapes, EmulatorCase):
    def queue(self, name: str, kind: str = "task", token: Any = None):
        kwargs = {} if token is None else {"token": token}
        return self.get(f"{QUEUES}/{name}", params={"type": kind}, **kwargs)

    def store_queue(self, name: str, kind: str = "task", env=None):
        with self.emu.state.lock:
            return self.emu.state.queues.find(env or self.dev_env, name, kind)


class QueueAuthTests(QueueCase):
    def test_pats_and_unknown_keys_are_refused(self):
        for token in (self.emu.access_token, "tr_dev_" + "x" * 24):
            with self.subTest(token=token[:8]):
                self.assertError(self.get(QUEUES, token=token), 401, "Invalid API key")
                self.assertError(
                    self.post(f"{QUEUES}/x/pause", token=token, json={"action": "pause"}),
                    401,
                    "Invalid API key",
                )

    def test_restricted_keys_need_the_queues_scope_for_the_action(self):
        state = self.emu.state
        with state.lock:
            runs_only = state.add_api_key(self.dev_env, scopes={"read:runs"})
            reader = state.add_api_key(self.dev_env, scopes={"read:queues"})
        response = self.get(QUEUES, token=runs_only)
        self.assertEqual((response.status_code, response.json()), (403, RBAC_403))
        self.assertEqual(self.get(QUEUES, token=reader).status_code, 200)
        self.assertEqual(self.queue("send-email", token=reader).status_code, 200)
        response = self.post(
            f"{QUEUES}/send-email/pause", token=reader, json={"type": "task", "action": "pause"}
        )
        self.assertEqual((response.status_code, response.json()), (403, RBAC_403))
        # the body is validated before authorization
        self.assertError(
            self.post(f"{QUEUES}/send-email/pause", token=reader, json={}),
            400,
            'Validation error: Required at "action"',
        )

    def test_public_jwt_may_retrieve_but_not_list(self):
        token = public_jwt(self.dev_env, ["read:queues"])
        self.assertEqual(self.queue("send-email", token=token).status_code, 200)
        self.assertError(self.get(QUEUES, token=token), 401, "Invalid API key")
        other = public_jwt(self.dev_env, ["read:runs"])
        self.assertEqual(self.queue("send-email", token=other).json(), RBAC_403)

    def test_engine_v1_projects_get_engine_version(self):
        with self.emu.state.lock:
            self.emu.state.default_project.engine = "V1"
        self.assertError(self.get(QUEUES), 400, "engine-version")
        self.assertError(self.queue("send-email"), 400, "engine-version")
        self.assertError(
            self.post(f"{QUEUES}/send-email/pause", json={"type": "task", "action": "pause"}),
            400,
            "engine-version",
        )


class ListQueueTests(QueueCase):
    def test_list_offset_pagination(self):
        body = self.get(QUEUES).json()
        names = [q["name"] for q in body["data"]]
        self.assertEqual(names, sorted(names, key=str.lower))  # task queues by task id
        self.assertEqual(body["pagination"], {"currentPage": 1, "totalPages": 1, "count": 8})
        page3 = self.get(QUEUES, params={"perPage": 3, "page": 3}).json()
        self.assertEqual(len(page3["data"]), 2)
        self.assertEqual(page3["pagination"], {"currentPage": 3, "totalPages": 3, "count": 8})
        capped = self.get(QUEUES, params={"perPage": 1000}).json()
        self.assertEqual(capped["pagination"]["totalPages"], 1)
        self.assertEqual(self.get(QUEUES, params={"page": 5}).json()["data"], [])

    def test_default_page_size_is_25(self):
        with self.emu.state.lock:
            for n in range(30):
                self.emu.state.queues.add(self.dev_env, f"extra-{n:02d}", custom=True)
        body = self.get(QUEUES).json()
        self.assertEqual(len(body["data"]), 25)
        self.assertEqual(body["pagination"], {"currentPage": 1, "totalPages": 2, "count": 38})

    def test_bad_query_is_a_query_error(self):
        response = self.get(QUEUES, params={"perPage": "0"})
        self.assertEqual(response.status_code, 400)
        body = response.json()
        self.assertEqual(body["error"], "Query Error")
        self.assertEqual(
            (body["details"][0]["path"], body["details"][0]["message"]),
            (["perPage"], "Number must be greater than 0"),
        )

    def test_queue_item_shape(self):
        body = self.get(QUEUES).json()
        for item in body["data"]:
            self.assertIn("concurrencyLimit", item)
            self.assertEqual(set(item["concurrency"]), CONCURRENCY_KEYS)
            self.assertIn(item["type"], ("task", "custom"))
            self.assertFalse(item["name"].startswith("task/"))
            self.assertIn("concurrencyLimitOverridePercent", item)
        by_name = {q["name"]: q for q in body["data"]}
        self.assertEqual(by_name["shared-email"]["type"], "custom")
        self.assertEqual(by_name["process-payment"]["concurrencyLimit"], 5)
        self.assertIsNone(by_name["send-email"]["concurrencyLimit"])
        self.assertConforms(body, QUEUES)


class RetrieveQueueTests(QueueCase):
    def test_lookup_by_id_task_and_custom(self):
        listed = {q["name"]: q for q in self.get(QUEUES).json()["data"]}
        task = listed["send-email"]
        self.assertEqual(self.get(f"{QUEUES}/{task['id']}").json()["id"], task["id"])
        self.assertEqual(self.queue("send-email").json()["id"], task["id"])
        self.assertEqual(self.queue("task%252Fsend-email").json()["id"], task["id"])
        custom = self.queue("shared-email", "custom").json()
        self.assertEqual(
            (custom["id"], custom["concurrencyLimit"]), (listed["shared-email"]["id"], 10)
        )
        self.assertConforms(custom, f"{QUEUES}/{{queueParam}}")

    def test_not_found(self):
        self.assertError(self.get(f"{QUEUES}/send-email"), 404, "queue-not-found")  # type=id
        self.assertError(self.queue("nope"), 404, "queue-not-found")
        self.assertError(self.queue("send-email", "custom"), 404, "queue-not-found")
        prod_queue = self.store_queue(
            "send-email", env=self.emu.state.environment_for_key(self.emu.secret_keys["prod"])
        )
        self.assertError(self.get(f"{QUEUES}/{prod_queue.friendly_id}"), 404, "queue-not-found")

    def test_bad_type_is_a_query_error(self):
        response = self.queue("send-email", "name")
        self.assertEqual(response.status_code, 400)
        detail = response.json()["details"][0]
        self.assertEqual(
            (detail["path"], detail["message"]),
            (["type"], "Invalid enum value. Expected 'id' | 'task' | 'custom', received 'name'"),
        )

    def test_slashes_travel_as_percent_2f(self):
        with self.emu.state.lock:
            queue = self.emu.state.queues.add(self.dev_env, "team/emails", custom=True)
        # What the SDK sends: "/" → "%2F", then the whole value URL-encoded → "%252F".
        for raw in ("team%252Femails", "team%2Femails"):
            with self.subTest(raw=raw):
                response = self.get(f"{QUEUES}/{raw}?type=custom")
                self.assertEqual(response.json()["id"], queue.friendly_id)
        paused = self.post(
            f"{QUEUES}/team%252Femails/pause", json={"type": "custom", "action": "pause"}
        )
        self.assertIs(paused.json()["paused"], True)
        # a stray "%" after the route's own decoding throws in decodeURIComponent
        self.assertError(self.get(f"{QUEUES}/bad%25zz?type=custom"), 500, "Internal Server Error")

    def test_counts_follow_the_runs(self):
        before = self.queue("send-email").json()
        self.trigger("send-email")
        after = self.queue("send-email").json()
        self.assertEqual(after["queued"], before["queued"] + 1)
        self.assertEqual(after["running"], before["running"])
        with self.emu.state.lock:
            runs = [
                r
                for r in self.emu.state.runs.by_id.values()
                if r.environment_id == self.dev_env.id and r.queue == "task/send-email"
            ]
            expected = sum(r.status == "PENDING" for r in runs)
        self.assertEqual(after["queued"], expected)


class PauseTests(QueueCase):
    def test_pause_and_resume(self):
        response = self.post(f"{QUEUES}/send-email/pause", json={"type": "task", "action": "pause"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIs(response.json()["paused"], True)
        self.assertConforms(response.json(), f"{QUEUES}/{{queueParam}}/pause", "post")
        self.assertIs(self.queue("send-email").json()["paused"], True)
        queue_id = response.json()["id"]
        resumed = self.post(f"{QUEUES}/{queue_id}/pause", json={"action": "resume"}).json()
        self.assertIs(resumed["paused"], False)

    def test_pause_errors(self):
        self.assertError(
            self.post(f"{QUEUES}/send-email/pause", json={"action": "pause"}),
            404,
            "queue-not-found",
        )  # type defaults to id
        self.assertError(self.post(f"{QUEUES}/send-email/pause"), 400, "Request body is empty")
        self.assertError(
            self.post(
                f"{QUEUES}/send-email/pause",
                data=b"{",
                headers={"Content-Type": "application/json"},
            ),
            400,
            "Invalid JSON",
        )
        self.assertError(
            self.post(f"{QUEUES}/send-email/pause", json={"type": "task", "action": "stop"}),
            400,
            "Validation error: Invalid enum value. Expected 'pause' | 'resume', "
            "received 'stop' at \"action\"",
        )
        self.assertError(self.call("GET", f"{QUEUES}/send-email/pause"), 405, "Method not allowed")


class ConcurrencyTests(QueueCase):
    def override(self, name: str = "process-payment", **body: Any):
        return self.post(f"{QUEUES}/{name}/concurrency/override", json={"type": "task", **body})

    def reset_queue(self, name: str = "process-payment"):
        return self.post(f"{QUEUES}/{name}/concurrency/reset", json={"type": "task"})

    def test_override_keeps_the_code_limit_as_base(self):
        body = self.override(concurrencyLimit=7).json()
        self.assertEqual(body["concurrencyLimit"], 7)
        self.assertEqual(
            body["concurrency"],
            {
                "current": 7,
                "base": 5,
                "override": 7,
                "overriddenBy": None,
                "overriddenAt": FROZEN_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            },
        )
        self.assertConforms(body, f"{QUEUES}/{{queueParam}}/concurrency/override", "post")
        again = self.override(concurrencyLimit=3).json()
        self.assertEqual(again["concurrency"]["base"], 5)  # the first override's base stays
        reset = self.reset_queue().json()
        self.assertEqual(reset["concurrencyLimit"], 5)
        self.assertEqual(
            reset["concurrency"],
            {
                "current": 5,
                "base": None,
                "override": None,
                "overriddenBy": None,
                "overriddenAt": None,
            },
        )
        self.assertConforms(reset, f"{QUEUES}/{{queueParam}}/concurrency/reset", "post")

    def test_percent_is_materialised_from_the_environment_maximum(self):
        self.assertEqual(self.override(percent=50).json()["concurrencyLimit"], 12)  # of 25
        self.assertEqual(self.override(percent=0.5).json()["concurrencyLimit"], 1)  # at least 1
        retrieved = self.queue("process-payment").json()
        self.assertEqual(retrieved["concurrencyLimitOverridePercent"], 0.5)
        self.assertEqual(self.override(percent=100).json()["concurrencyLimit"], 25)

    def test_override_validation(self):
        cases = (
            ({}, "Validation error: Provide exactly one of `concurrencyLimit` or `percent`"),
            (
                {"concurrencyLimit": 2, "percent": 10},
                "Validation error: Provide exactly one of `concurrencyLimit` or `percent`",
            ),
            ({"percent": 0}, 'Validation error: Number must be greater than 0 at "percent"'),
            (
                {"percent": 101},
                'Validation error: Number must be less than or equal to 100 at "percent"',
            ),
            (
                {"concurrencyLimit": 1.5},
                'Validation error: Expected integer, received float at "concurrencyLimit"',
            ),
            (
                {"concurrencyLimit": -1},
                'Validation error: Number must be greater than or equal to 0 at "concurrencyLimit"',
            ),
            (
                {"concurrencyLimit": 100001},
                "Validation error: Number must be less than or equal "
                'to 100000 at "concurrencyLimit"',
            ),
            (
                {"concurrencyLimit": 26},
                "Concurrency limit (26) cannot exceed the environment limit (25)",
            ),
        )
        for body, message in cases:
            with self.subTest(body=body):
                self.assertError(self.override(**body), 400, message)
        self.assertIsNone(self.store_queue("process-payment").overridden_at)

    def test_unknown_queue_and_reset_without_override(self):
        self.assertError(self.override("nope", concurrencyLimit=1), 404, "Queue not found")
        self.assertError(self.reset_queue("nope"), 404, "Queue not found")
        self.assertError(self.reset_queue(), 400, "Queue is not overridden")

    def test_dashboard_override_shows_who_did_it(self):
        prod = self.emu.secret_keys["prod"]
        body = self.queue("send-email", token=prod).json()
        self.assertEqual(body["concurrency"]["overriddenBy"], "Alice Example")
        self.assertEqual(body["concurrency"]["override"], 20)
        self.assertIs(self.queue("sync-crm", token=prod).json()["paused"], True)
        reset = self.post(
            f"{QUEUES}/send-email/concurrency/reset", token=prod, json={"type": "task"}
        ).json()
        self.assertIsNone(reset["concurrencyLimit"])
