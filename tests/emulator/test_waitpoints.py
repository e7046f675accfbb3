"""Waitpoint tokens in the emulator, over raw HTTP: the server's answers, lifecycle, timeouts
on the emulator's clock, idempotency keys and their TTL, the callback URL, auth."""

from __future__ import annotations

import hashlib
import hmac

from .base import FROZEN_NOW, EmulatorCase

TOKENS = "/api/v1/waitpoints/tokens"


class WaitpointTokenTests(EmulatorCase):
    def create(self, **body) -> dict:
        response = self.post(TOKENS, json=body)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def retrieve(self, token_id: str) -> dict:
        response = self.get(f"{TOKENS}/{token_id}")
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_create_answers_id_url_and_a_public_token(self):
        response = self.post(TOKENS, json={"timeout": "1h", "tags": ["user:1", "org:2"]})
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(set(body), {"id", "isCached", "url"})
        self.assertRegex(body["id"], r"^waitpoint_[0-9a-z]+$")
        self.assertFalse(body["isCached"])
        self.assertIn("write:waitpoints:" + body["id"], response.headers["x-trigger-jwt-claims"])
        self.assertTrue(response.headers["x-trigger-jwt"])
        token = self.retrieve(body["id"])
        self.assertEqual(token["status"], "WAITING")
        self.assertEqual(token["timeoutAt"], "2026-03-18T13:00:00.000Z")
        self.assertEqual(token["tags"], ["user:1", "org:2"])
        self.assertFalse(token["userProvidedIdempotencyKey"])
        self.assertNotIn("output", token)

    def test_callback_hash_is_the_hmac_of_the_internal_id_with_the_env_key(self):
        token = self.create()
        internal = token["id"].removeprefix("waitpoint_")
        digest = hmac.new(
            self.emu.secret_key.encode(), internal.encode(), hashlib.sha256
        ).hexdigest()
        self.assertEqual(token["url"], self.emu.url(f"{TOKENS}/{token['id']}/callback/{digest}"))

    def test_complete_then_complete_again_keeps_the_first_data(self):
        token = self.create()
        first = self.post(f"{TOKENS}/{token['id']}/complete", json={"data": {"approved": True}})
        self.assertEqual((first.status_code, first.json()), (200, {"success": True}))
        again = self.post(f"{TOKENS}/{token['id']}/complete", json={"data": {"approved": False}})
        self.assertEqual((again.status_code, again.json()), (200, {"success": True}))
        done = self.retrieve(token["id"])
        self.assertEqual(done["status"], "COMPLETED")
        self.assertEqual(done["output"], '{"json":{"approved":true}}')
        self.assertEqual(done["outputType"], "application/super+json")
        self.assertFalse(done["outputIsError"])
        self.assertEqual(done["completedAt"], "2026-03-18T12:00:00.000Z")

    def test_text_data_is_stored_as_text_and_no_data_stores_no_output(self):
        text, empty = self.create(), self.create()
        self.post(f"{TOKENS}/{text['id']}/complete", json={"data": "yes"})
        self.post(f"{TOKENS}/{empty['id']}/complete", json={})
        self.assertEqual(
            (self.retrieve(text["id"])["output"], self.retrieve(text["id"])["outputType"]),
            ("yes", "text/plain"),
        )
        done = self.retrieve(empty["id"])
        self.assertEqual(done["status"], "COMPLETED")
        self.assertNotIn("output", done)

    def test_timeout_passes_on_the_emulator_clock(self):
        token = self.create(timeout="10m")
        self.emu.clock.advance(599)
        self.assertEqual(self.retrieve(token["id"])["status"], "WAITING")
        self.emu.clock.advance(1)
        timed_out = self.retrieve(token["id"])
        self.assertEqual(timed_out["status"], "TIMED_OUT")
        self.assertTrue(timed_out["outputIsError"])
        self.assertEqual(timed_out["completedAt"], "2026-03-18T12:10:00.000Z")
        self.assertIn("TRIGGER_WAITPOINT_TIMEOUT", timed_out["output"])
        # Completing it afterwards answers success and changes nothing.
        late = self.post(f"{TOKENS}/{token['id']}/complete", json={"data": {"approved": True}})
        self.assertEqual(late.json(), {"success": True})
        self.assertEqual(self.retrieve(token["id"])["status"], "TIMED_OUT")

    def test_timeouts_the_server_ignores(self):
        for timeout in ("soon", "2026-03-18T11:00:00Z"):  # unparsable, in the past
            with self.subTest(timeout):
                token = self.create(timeout=timeout)
                self.assertNotIn("timeoutAt", self.retrieve(token["id"]))
        future = self.create(timeout="2026-03-19T00:00:00.000Z")
        self.assertEqual(self.retrieve(future["id"])["timeoutAt"], "2026-03-19T00:00:00.000Z")

    def test_idempotency_key_returns_the_same_token_until_its_ttl(self):
        first = self.create(idempotencyKey="approve-42", idempotencyKeyTTL="1h")
        again = self.create(idempotencyKey="approve-42", tags=["ignored"])
        self.assertEqual((again["id"], again["isCached"]), (first["id"], True))
        self.assertEqual(self.retrieve(first["id"])["tags"], [])
        self.emu.clock.advance(3601)
        fresh = self.create(idempotencyKey="approve-42")
        self.assertNotEqual(fresh["id"], first["id"])
        self.assertFalse(fresh["isCached"])
        old = self.retrieve(first["id"])
        self.assertEqual(old["inactiveIdempotencyKey"], "approve-42")
        self.assertNotEqual(old["idempotencyKey"], "approve-42")
        # Listing by the key finds both (the active and the moved-aside one).
        listed = self.get(TOKENS, params={"filter[idempotencyKey]": "approve-42"}).json()
        self.assertEqual({t["id"] for t in listed["data"]}, {first["id"], fresh["id"]})
        self.assertEqual({t["idempotencyKey"] for t in listed["data"]}, {"approve-42"})

    def test_a_completed_token_is_still_returned_for_its_key(self):
        first = self.create(idempotencyKey="k")
        self.post(f"{TOKENS}/{first['id']}/complete", json={"data": 1})
        again = self.create(idempotencyKey="k")
        self.assertEqual((again["id"], again["isCached"]), (first["id"], True))

    def test_keys_are_per_environment(self):
        dev = self.create(idempotencyKey="k")
        prod = self.post(
            TOKENS, json={"idempotencyKey": "k"}, token=self.emu.secret_keys["prod"]
        ).json()
        self.assertNotEqual(dev["id"], prod["id"])
        # And a token of another environment is unknown here.
        self.assertError(
            self.post(f"{TOKENS}/{prod['id']}/complete", json={}), 404, "Waitpoint not found"
        )

    def test_list_filters_and_pages(self):
        ids = [self.create(tags=[f"n:{i % 2}"])["id"] for i in range(5)]
        self.post(f"{TOKENS}/{ids[0]}/complete", json={})
        page = self.get(TOKENS, params={"page[size]": "2"}).json()
        self.assertEqual([t["id"] for t in page["data"]], ids[::-1][:2])
        self.assertNotIn("previous", page["pagination"])
        second = self.get(
            TOKENS, params={"page[size]": "2", "page[after]": page["pagination"]["next"]}
        ).json()
        self.assertEqual([t["id"] for t in second["data"]], ids[::-1][2:4])
        back = self.get(
            TOKENS, params={"page[size]": "2", "page[before]": second["pagination"]["previous"]}
        ).json()
        self.assertEqual([t["id"] for t in back["data"]], ids[::-1][:2])
        waiting = self.get(TOKENS, params={"filter[status]": "WAITING"}).json()["data"]
        self.assertEqual(len(waiting), 4)
        completed = self.get(TOKENS, params={"filter[status]": "COMPLETED"}).json()["data"]
        self.assertEqual([t["id"] for t in completed], [ids[0]])
        tagged = self.get(TOKENS, params={"filter[tags]": "n:1"}).json()["data"]
        self.assertEqual({t["id"] for t in tagged}, {ids[1], ids[3]})
        self.assertEqual(
            self.get(
                TOKENS,
                params={"filter[createdAt][to]": str(int(FROZEN_NOW.timestamp() * 1000) - 1)},
            ).json()["data"],
            [],
        )

    def test_bad_list_queries(self):
        response = self.get(TOKENS, params={"filter[status]": "WAITING,DONE", "page[size]": "0"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "Query Error")
        messages = [d["message"] for d in response.json()["details"]]
        self.assertIn("Invalid status values: DONE", messages)

    def test_bad_create_bodies(self):
        response = self.post(TOKENS, json={"tags": [f"t{i}" for i in range(11)]})
        self.assertError(
            response, 422, "Waitpoints can only have 10 tags, you're trying to set 11."
        )
        self.assertEqual(self.post(TOKENS, json={"idempotencyKey": 5}).status_code, 400)
        self.assertEqual(self.post(TOKENS, json={"tags": ["x" * 129]}).status_code, 400)
        big = self.post(TOKENS, json={"idempotencyKey": "k" * 2048, "tags": ["t" * 128] * 9 * 8})
        self.assertEqual(big.status_code, 413)
        with self.emu.state.lock:
            self.assertEqual(len(self.emu.state.waitpoints.tokens), 0)

    def test_unknown_tokens(self):
        self.assertError(self.get(f"{TOKENS}/waitpoint_nope"), 500, "Internal Server Error")
        self.assertError(
            self.post(f"{TOKENS}/waitpoint_nope/complete", json={}), 404, "Waitpoint not found"
        )

    def test_auth(self):
        self.assertEqual(self.get(TOKENS, token=self.emu.access_token).status_code, 401)
        restricted = self.emu.state.add_api_key(self.dev_env, scopes=["read:runs"])
        self.assertEqual(self.post(TOKENS, json={}, token=restricted).status_code, 403)

    def test_public_token_completes_only_its_token(self):
        response = self.post(TOKENS, json={})
        jwt, own = response.headers["x-trigger-jwt"], response.json()["id"]
        other = self.create()["id"]
        self.assertEqual(
            self.post(f"{TOKENS}/{other}/complete", json={}, token=jwt).status_code, 403
        )
        ok = self.post(f"{TOKENS}/{own}/complete", json={"data": 1}, token=jwt)
        self.assertEqual(ok.json(), {"success": True})

    def test_callback_url_completes_without_a_key(self):
        token = self.create()
        response = self.http.post(token["url"], json={"status": "approved"}, timeout=5)
        self.assertEqual(response.json(), {"success": True})
        self.assertEqual(self.retrieve(token["id"])["output"], '{"json":{"status":"approved"}}')
        forged = token["url"][:-4] + "0000"
        other = self.create()
        self.assertEqual(
            self.http.post(
                forged.replace(token["id"], other["id"]), json={}, timeout=5
            ).status_code,
            401,
        )
        self.assertEqual(self.retrieve(other["id"])["status"], "WAITING")
