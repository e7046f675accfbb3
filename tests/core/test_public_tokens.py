"""``client.auth``: public access tokens minted as the SDK mints them, and clients built from
them, over real HTTP against the emulator (which verifies them as the service does)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from django_trigger.async_client import AsyncTriggerClient
from django_trigger.client import TriggerClient
from django_trigger.credentials import TokenKind
from django_trigger.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from django_trigger.resources.auth import flatten_scopes

from .base import BothClients, ClientTestCase, scenarios_as_tests

CLAIMS = "/api/v1/auth/jwt/claims"
MINT = "/api/v1/auth/public-tokens"


def _part(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode(token: str) -> tuple[bytes, dict[str, Any]]:
    header, payload, _ = token.split(".")
    return _part(header), json.loads(_part(payload))


class PublicTokenCase(ClientTestCase):
    def a_run(self) -> str:
        return self.trigger.tasks.trigger("send-email", {"to": "a@example.com"}).id

    def env_id(self) -> str:
        with self.emulator.state.lock:
            return self.emulator.state.environment_for_key(self.emulator.secret_key).id

    def run_count(self) -> int:
        with self.emulator.state.lock:
            return len(self.emulator.state.runs)


class SigningTests(PublicTokenCase):
    def test_token_is_the_sdks_jwt(self):
        token = self.trigger.auth.create_public_token(
            scopes={
                "read": {"runs": ["run_1", "run_2"], "tags": "t1", "batch": "batch_9"},
                "write": {"waitpoints": "waitpoint_1", "inputStreams": ["run_1"]},
            }
        )
        header, claims = decode(token)
        self.assertEqual(header, b'{"alg":"HS256"}')
        self.assertEqual(list(claims), ["sub", "pub", "scopes", "iss", "aud", "exp", "iat"])
        self.assertEqual(claims["sub"], self.env_id())
        self.assertIs(claims["pub"], True)
        self.assertEqual(
            claims["scopes"],
            [
                "read:runs:run_1",
                "read:runs:run_2",
                "read:tags:t1",
                "read:batch:batch_9",
                "write:waitpoints:waitpoint_1",
                "write:inputStreams:run_1",
            ],
        )
        self.assertEqual(
            (claims["iss"], claims["aud"]), ("https://id.trigger.dev", "https://api.trigger.dev")
        )
        self.assertEqual(claims["exp"] - claims["iat"], 900)  # default 15m
        signing_input, signature = token.rsplit(".", 1)
        expected = hmac.new(
            self.emulator.secret_key.encode(), signing_input.encode(), hashlib.sha256
        ).digest()
        self.assertEqual(_part(signature), expected)

    def test_claims_are_fetched_once_per_client(self):
        for _ in range(5):
            self.trigger.auth.create_public_token(scopes={"read": {"runs": True}})
        self.trigger.auth.create_trigger_public_token("send-email")
        self.assertEqual(self.journal.count(path=CLAIMS), 1)
        self.assertEqual(len(self.journal), 1)

    def test_without_scopes_and_with_realtime(self):
        _, claims = decode(self.trigger.auth.create_public_token())
        self.assertNotIn("scopes", claims)
        _, claims = decode(
            self.trigger.auth.create_public_token(
                scopes=["read:runs"], realtime={"skipColumns": ["payload"]}
            )
        )
        self.assertEqual(list(claims)[:4], ["sub", "pub", "scopes", "realtime"])
        self.assertEqual(claims["realtime"], {"skipColumns": ["payload"]})

    def test_trigger_and_batch_trigger_tokens(self):
        _, claims = decode(self.trigger.auth.create_trigger_public_token(["a", "b"]))
        self.assertEqual(list(claims), ["sub", "pub", "otu", "scopes", "iss", "aud", "exp", "iat"])
        self.assertEqual(
            (claims["otu"], claims["scopes"]), (True, ["trigger:tasks:a", "trigger:tasks:b"])
        )
        _, claims = decode(
            self.trigger.auth.create_batch_trigger_public_token("a", multiple_use=True)
        )
        self.assertEqual((claims["otu"], claims["scopes"]), (False, ["batchTrigger:tasks:a"]))

    def test_expiration_forms(self):
        auth = self.trigger.auth
        for value, seconds in (
            ("1h", 3600),
            ("2 days", 172800),
            ("30s", 30),
            (dt.timedelta(minutes=5), 300),
            ("1.5 hours", 5400),
        ):
            with self.subTest(value=value):
                _, claims = decode(auth.create_public_token(expiration_time=value))
                self.assertEqual(claims["exp"] - claims["iat"], seconds)
        at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
        _, claims = decode(auth.create_public_token(expiration_time=at))
        self.assertEqual(claims["exp"], int(at.timestamp()))
        _, claims = decode(auth.create_public_token(expiration_time=int(at.timestamp())))
        self.assertEqual(claims["exp"], int(at.timestamp()))

    def test_flatten_scopes_matches_the_sdk(self):
        self.assertEqual(
            flatten_scopes({"read": {"runs": True}, "write": {"tags": "x"}}),
            ["read:runs", "write:tags:x"],
        )
        self.assertEqual(flatten_scopes({"read": True}), ["read"])
        self.assertEqual(
            flatten_scopes(["read:sessions:s1:channels:c:out"]), ["read:sessions:s1:channels:c:out"]
        )

    def test_bad_input_is_refused_before_anything_is_sent(self):
        auth = self.trigger.auth
        naive = dt.datetime(2030, 1, 1)
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"scopes": {"admin": {"runs": True}}}, "unknown scope action 'admin'"),
            ({"scopes": {"read": {"jobs": "x"}}}, "unknown scope resource 'jobs'"),
            ({"scopes": {"read": {"runs": ""}}}, "IDs must not be empty"),
            ({"scopes": {"read": {"runs": ["run_1", "  "]}}}, "IDs must not be empty"),
            ({"scopes": ["read:runs:"]}, "IDs must not be empty"),
            ({"scopes": ["delete:runs"]}, "unknown scope action 'delete'"),
            ({"scopes": "read:runs"}, "not a single string"),
            ({"scopes": {"read": ["runs"]}}, "must map resource kinds"),
            ({"expiration_time": "tomorrow"}, "invalid expiration_time 'tomorrow'"),
            ({"expiration_time": "-5m"}, "must be in the future"),
            ({"expiration_time": "5m ago"}, "must be in the future"),
            ({"expiration_time": "31d"}, "more than 30 days"),
            ({"expiration_time": naive}, "aware datetime"),
            ({"expiration_time": past}, "must be in the future"),
            ({"realtime": {"skip": ["payload"]}}, "skipColumns"),
            ({"realtime": {"skipColumns": "payload"}}, "list of column names"),
        ]
        for kwargs, message in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaisesMessage(InvalidRequestError, message):
                    auth.create_public_token(**kwargs)
        with self.assertRaisesMessage(InvalidRequestError, "IDs must not be empty"):
            auth.create_trigger_public_token(" ")
        with self.assertRaisesMessage(InvalidRequestError, "at least one task"):
            auth.create_batch_trigger_public_token([])
        self.assertEqual(len(self.journal), 0)

    def test_a_personal_access_token_cannot_mint(self):
        with self.assertRaisesMessage(InvalidRequestError, "needs a secret key"):
            self.pat_client().auth.create_public_token(scopes=["read:runs"])
        self.assertEqual(len(self.journal), 0)


class AdditionalKeyTests(PublicTokenCase):
    def additional_key(self, scopes: set[str] | None = None) -> str:
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            return self.emulator.state.add_api_key(env, scopes=scopes)

    def test_the_server_mints_for_an_additional_key(self):
        client = self.make_client(self.additional_key())
        run_id = self.a_run()
        token = client.auth.create_public_token(
            scopes={"read": {"runs": run_id}}, expiration_time="1h"
        )
        entry = self.journal.last(path=MINT)
        self.assertEqual(entry.body, {"scopes": [f"read:runs:{run_id}"], "expirationTime": "1h"})
        self.assertEqual(self.journal.count(path=CLAIMS), 0)
        header, claims = decode(token)
        self.assertEqual(header, b'{"alg":"HS256"}')
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertEqual(self.make_client(token).runs.retrieve(run_id).id, run_id)
        trigger_token = client.auth.create_trigger_public_token("send-email")
        self.assertIs(decode(trigger_token)[1]["otu"], True)
        self.assertIs(self.journal.last(path=MINT).body["oneTimeUse"], True)

    def test_an_additional_key_needs_scopes(self):
        client = self.make_client(self.additional_key())
        with self.assertRaisesMessage(InvalidRequestError, "at least one scope"):
            client.auth.create_public_token()
        self.assertEqual(len(self.journal), 0)

    def test_a_restricted_key_cannot_hand_out_more_than_it_has(self):
        client = self.make_client(self.additional_key({"read:runs"}))
        client.auth.create_public_token(scopes={"read": {"runs": "run_1"}})
        with self.assertRaises(PermissionDeniedError) as caught:
            client.auth.create_public_token(scopes={"trigger": {"tasks": "send-email"}})
        self.assertEqual(caught.exception.body["deniedScopes"], ["trigger:tasks:send-email"])
        self.assertEqual(caught.exception.code, "scopes_exceed_key_access")


class PublicClientTests(PublicTokenCase):
    def test_a_token_is_recognised(self):
        token = self.trigger.auth.create_public_token(scopes=["read:runs"])
        client = self.make_client(token)
        self.assertIs(client.token_kind, TokenKind.PUBLIC_ACCESS_TOKEN)
        self.assertIsNone(client.environment)
        self.assertNotIn(token[20:], repr(client))

    def test_reads_exactly_what_its_scopes_allow(self):
        run_id, other = self.a_run(), self.a_run()
        token = self.trigger.auth.create_public_token(scopes={"read": {"runs": run_id}})
        public = self.make_client(token)
        self.assertEqual(public.runs.retrieve(run_id).id, run_id)
        with self.assertRaises(PermissionDeniedError):
            public.runs.retrieve(other)
        with self.assertRaises(PermissionDeniedError):
            public.runs.list()
        with self.assertRaises(NotFoundError):
            public.runs.retrieve("run_doesnotexist", request_options={"retry": {"max_attempts": 1}})

    def test_calls_that_need_a_secret_key_are_refused_before_sending(self):
        run_id = self.a_run()
        token = self.trigger.auth.create_public_token(scopes={"read": {"runs": True}})
        public = self.make_client(token)
        self.journal.clear()
        refusals = [
            lambda: public.runs.replay(run_id),
            lambda: public.envvars.list(environment="dev"),
            lambda: public.schedules.list(),
            lambda: public.auth.create_public_token(scopes=["read:runs"]),
        ]
        for call in refusals:
            with self.assertRaisesMessage(InvalidRequestError, "public access token"):
                call()
        self.assertEqual(len(self.journal), 0)

    def test_a_trigger_token_is_used_once(self):
        token = self.trigger.auth.create_trigger_public_token("send-email")
        public = self.make_client(token)
        run = public.tasks.trigger("send-email", {"to": "b@example.com"})
        self.assertTrue(run.id.startswith("run_"))
        before = self.run_count()
        with self.assertRaisesMessage(
            UnprocessableEntityError,
            "Cannot trigger send-email with a one-time use token as it has already been used.",
        ):
            public.tasks.trigger(
                "send-email",
                {"to": "b@example.com"},
                request_options={"retry": {"max_attempts": 1}},
            )
        self.assertEqual(self.run_count(), before)
        with self.assertRaises(PermissionDeniedError):
            self.make_client(
                self.trigger.auth.create_trigger_public_token("send-email")
            ).tasks.trigger("resize-image", {})
        self.assertEqual(self.run_count(), before)

    def test_a_multiple_use_trigger_token(self):
        token = self.trigger.auth.create_trigger_public_token("send-email", multiple_use=True)
        public = self.make_client(token)
        public.tasks.trigger("send-email", {})
        public.tasks.trigger("send-email", {})

    def test_a_batch_trigger_token(self):
        token = self.trigger.auth.create_batch_trigger_public_token("send-email")
        public = self.make_client(token)
        handle = public.tasks.batch_trigger(
            [
                {"task": "send-email", "payload": {"n": 1}},
                {"task": "send-email", "payload": {"n": 2}},
            ]
        )
        self.assertEqual(len(self.trigger.batches.retrieve(handle.id).runs), 2)
        before = self.run_count()
        with self.assertRaisesMessage(UnprocessableEntityError, "one-time use token"):
            public.tasks.batch_trigger(
                [{"task": "send-email"}], request_options={"retry": {"max_attempts": 1}}
            )
        with self.assertRaises(PermissionDeniedError):
            self.make_client(
                self.trigger.auth.create_batch_trigger_public_token("send-email")
            ).tasks.batch_trigger([{"task": "resize-image"}])
        self.assertEqual(self.run_count(), before)

    def test_an_expired_token(self):
        run_id = self.a_run()
        token = self.trigger.auth.create_public_token(
            scopes={"read": {"runs": run_id}}, expiration_time="1m"
        )
        self.emulator.clock.advance(60)
        with self.assertRaisesMessage(AuthenticationError, "Public Access Token is invalid"):
            self.make_client(token).runs.retrieve(run_id)

    def test_a_token_of_another_emulator_key_is_invalid(self):
        token = self.trigger.auth.create_public_token(scopes=["read:runs"])
        forged = TriggerClient(token[:-3] + "abc", base_url=self.emulator.base_url)
        self.addCleanup(forged.close)
        with self.assertRaisesMessage(AuthenticationError, "Public Access Token is invalid"):
            forged.runs.list()


class RawResponseScenarios(BothClients):
    """``auth.with_raw_response``: the server's minting has a response; local signing has none
    and says so before anything is sent (not even the claims request)."""

    async def scenario_a_root_key_signs_locally_so_there_is_no_raw_response(self):
        calls = [
            lambda raw: raw.create_public_token(scopes=["read:runs"]),
            lambda raw: raw.create_trigger_public_token("send-email"),
            lambda raw: raw.create_batch_trigger_public_token("send-email"),
        ]
        for call in calls:
            with self.assertRaisesMessage(
                InvalidRequestError, "signs the token locally with the root secret key"
            ):
                await self.call(call(self.api.auth.with_raw_response))
        self.assertEqual(len(self.journal), 0)
        # Once the claims are cached, still refused (it used to answer a bare string then).
        token = await self.call(self.api.auth.create_public_token(scopes=["read:runs"]))
        self.assertEqual(decode(token)[1]["scopes"], ["read:runs"])
        with self.assertRaisesMessage(InvalidRequestError, "no HTTP response answers it"):
            await self.call(self.api.auth.with_raw_response.create_public_token())
        self.assertEqual(len(self.journal), 1)

    async def scenario_an_additional_key_answers_raw_with_the_servers_minting(self):
        with self.emulator.state.lock:
            env = self.emulator.state.environment_for_key(self.emulator.secret_key)
            key = self.emulator.state.add_api_key(env)
        client = self.api_class(key, base_url=self.emulator.base_url, timeout=5.0)
        try:
            raw = await self.call(
                client.auth.with_raw_response.create_trigger_public_token("send-email")
            )
            self.assertEqual(raw.status_code, 200)
            self.assertEqual(raw.path, MINT)
            self.assertEqual(raw.parse(), raw.json()["token"])
            self.assertIs(decode(raw.parse())[1]["otu"], True)
        finally:
            await self.close(client)


@scenarios_as_tests
class SyncRawResponseScenarios(RawResponseScenarios):
    api_class = TriggerClient


@scenarios_as_tests
class AsyncRawResponseScenarios(RawResponseScenarios):
    api_class = AsyncTriggerClient
