"""Public access tokens in the emulator: the claims and minting routes, JWT verification as
the service's jose ``jwtVerify`` does it, one-time-use tokens, and batchTrigger scopes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from .base import FROZEN_NOW, EmulatorCase

NOW = int(FROZEN_NOW.timestamp())
RBAC_403 = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(
    secret: str,
    claims: dict[str, Any],
    header: dict[str, Any] | None = None,
    digest: Any = hashlib.sha256,
) -> str:
    head = _b64(json.dumps(header or {"alg": "HS256"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{_b64(signature)}"


class PublicTokenCase(EmulatorCase):
    def claims(self, **extra: Any) -> dict[str, Any]:
        return {
            "sub": self.dev_env.id,
            "pub": True,
            "scopes": ["read:runs"],
            "iss": "https://id.trigger.dev",
            "aud": "https://api.trigger.dev",
            "exp": NOW + 900,
            "iat": NOW,
            **extra,
        }

    def token(self, **extra: Any) -> str:
        return jwt(self.emu.secret_key, self.claims(**extra))


class ClaimsRouteTests(PublicTokenCase):
    def test_claims_of_the_keys_environment(self):
        response = self.post("/api/v1/auth/jwt/claims")
        self.assertEqual(response.json(), {"sub": self.dev_env.id, "pub": True})
        prod = self.post("/api/v1/auth/jwt/claims", token=self.emu.secret_keys["prod"]).json()
        self.assertNotEqual(prod["sub"], self.dev_env.id)

    def test_only_unrestricted_secret_keys(self):
        with self.emu.state.lock:
            restricted = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
        for token in (self.emu.access_token, restricted, self.token(), "tr_dev_nope"):
            with self.subTest(token=token[:8]):
                self.assertError(
                    self.post("/api/v1/auth/jwt/claims", token=token),
                    401,
                    "Invalid or Missing API key",
                )


class MintRouteTests(PublicTokenCase):
    def mint(self, body: Any, token: Any = None) -> Any:
        kwargs = {} if token is None else {"token": token}
        return self.post("/api/v1/auth/public-tokens", json=body, **kwargs)

    def test_mints_a_verifiable_token(self):
        response = self.mint(
            {
                "scopes": ["read:runs"],
                "expirationTime": "2h",
                "oneTimeUse": True,
                "realtime": {"skipColumns": ["payload"]},
            }
        )
        self.assertEqual(response.status_code, 200, response.text)
        token = response.json()["token"]
        head, body, _ = token.split(".")
        self.assertEqual(base64.urlsafe_b64decode(head + "=="), b'{"alg":"HS256"}')
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        self.assertEqual(
            list(claims), ["sub", "pub", "scopes", "otu", "realtime", "iss", "aud", "exp", "iat"]
        )
        self.assertEqual((claims["iat"], claims["exp"]), (NOW, NOW + 7200))
        self.assertEqual(self.get("/api/v1/runs", token=token).status_code, 200)

    def test_bad_bodies(self):
        for body, status, error in (
            ({"scopes": []}, 400, "Invalid request body"),
            ({"scopes": [1]}, 400, "Invalid request body"),
            ({"expirationTime": "1h"}, 400, "Invalid request body"),
            ({"scopes": ["read:runs"], "expirationTime": "soon"}, 400, "Invalid expiration time"),
            (
                {"scopes": ["read:runs"], "expirationTime": "-5m"},
                400,
                "Expiration time must be in the future",
            ),
            (
                {"scopes": ["read:runs"], "expirationTime": NOW - 1},
                400,
                "Expiration time must be in the future",
            ),
            (
                {"scopes": ["read:runs"], "expirationTime": "31d"},
                400,
                "Expiration time cannot exceed 30 days",
            ),
        ):
            with self.subTest(body=body):
                self.assertError(self.mint(body), status, error)
        self.assertIn("issues", self.mint({"scopes": []}).json())

    def test_a_restricted_key_hands_out_only_its_own_scopes(self):
        with self.emu.state.lock:
            restricted = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
        self.assertEqual(self.mint({"scopes": ["read:runs:run_1"]}, restricted).status_code, 200)
        denied = self.mint({"scopes": ["read:runs", "trigger:tasks:a", "read"]}, restricted)
        self.assertEqual(denied.status_code, 403)
        self.assertEqual(
            denied.json(),
            {
                "error": "Requested scopes exceed the API key's access",
                "code": "scopes_exceed_key_access",
                "deniedScopes": ["trigger:tasks:a", "read"],
            },
        )

    def test_public_tokens_cannot_mint(self):
        self.assertError(self.mint({"scopes": ["read:runs"]}, self.token()), 401, "Invalid API key")


class VerificationTests(PublicTokenCase):
    def status_and_error(self, token: str) -> tuple[int, str | None]:
        response = self.get("/api/v1/runs", token=token)
        return response.status_code, (
            response.json().get("error") if response.status_code != 200 else None
        )

    def test_a_good_token(self):
        self.assertEqual(self.status_and_error(self.token()), (200, None))

    def test_what_jose_refuses(self):
        secret = self.emu.secret_key
        invalid = "Public Access Token is invalid"
        cases = {
            "expired": self.token(exp=NOW),
            "not yet valid": self.token(nbf=NOW + 60),
            "wrong issuer": self.token(iss="https://example.com"),
            "no issuer": jwt(secret, {k: v for k, v in self.claims().items() if k != "iss"}),
            "wrong audience": self.token(aud="https://example.com"),
            "exp not a number": self.token(exp="tomorrow"),
            "alg none": jwt(secret, self.claims(), {"alg": "none"}),
            "alg RS256": jwt(secret, self.claims(), {"alg": "RS256"}),
            "another key": jwt(self.emu.secret_keys["prod"], self.claims()),
            "tampered": self.token()[:-4] + "AAAA",
        }
        for name, token in cases.items():
            with self.subTest(name):
                self.assertEqual(self.status_and_error(token), (401, invalid))

    def test_what_jose_accepts(self):
        secret = self.emu.secret_key
        self.assertEqual(
            self.status_and_error(jwt(secret, self.claims(), {"alg": "HS512"}, hashlib.sha512)),
            (200, None),
        )
        self.assertEqual(
            self.status_and_error(self.token(aud=["https://api.trigger.dev", "x"])), (200, None)
        )

    def test_subject_and_pub(self):
        self.assertEqual(
            self.status_and_error(self.token(sub="env_unknown")),
            (401, "Invalid Public Access Token"),
        )
        self.assertEqual(
            self.status_and_error(self.token(sub=None)), (401, "Invalid Public Access Token")
        )
        # Without pub: true it is not a public token at all: an unknown API key.
        self.assertEqual(self.status_and_error(self.token(pub=False)), (401, "Invalid API key"))


class OneTimeUseTests(PublicTokenCase):
    def test_trigger_once(self):
        token = self.token(otu=True, scopes=["trigger:tasks:send-email"])
        first = self.post("/api/v1/tasks/send-email/trigger", token=token, json={})
        self.assertEqual(first.status_code, 200, first.text)
        count = len(self.emu.state.runs)
        second = self.post("/api/v1/tasks/send-email/trigger", token=token, json={})
        self.assertError(
            second,
            422,
            "Cannot trigger send-email with a one-time use token as it has already been used.",
        )
        self.assertEqual(len(self.emu.state.runs), count)
        again = self.token(otu=False, scopes=["trigger:tasks:send-email"])
        for _ in range(2):
            self.assertEqual(
                self.post("/api/v1/tasks/send-email/trigger", token=again, json={}).status_code, 200
            )

    def test_batches_once(self):
        token = self.token(otu=True, scopes=["batchTrigger:tasks:send-email"])
        created = self.post(
            "/api/v3/batches", token=token, json={"runCount": 1, "taskIdentifiers": ["send-email"]}
        )
        self.assertEqual(created.status_code, 202, created.text)
        self.assertError(
            self.post(
                "/api/v3/batches",
                token=token,
                json={"runCount": 1, "taskIdentifiers": ["send-email"]},
            ),
            422,
            "Cannot create batch with a one-time use token as it has already been used.",
        )
        v2 = self.token(otu=True, scopes=["batchTrigger:tasks:send-email"], iat=NOW - 1)
        body = {"items": [{"task": "send-email"}]}
        self.assertEqual(self.post("/api/v2/tasks/batch", token=v2, json=body).status_code, 202)
        self.assertError(
            self.post("/api/v2/tasks/batch", token=v2, json=body),
            422,
            "Cannot batch trigger with a one-time use token as it has already been used.",
        )


class BatchTriggerScopeTests(PublicTokenCase):
    def items(self, batch_id: str, token: str, tasks: list[str]) -> Any:
        lines = "".join(
            json.dumps({"index": i, "task": t, "payload": {}}) + "\n" for i, t in enumerate(tasks)
        )
        return self.post(
            f"/api/v3/batches/{batch_id}/items",
            token=token,
            data=lines,
            headers={"Content-Type": "application/x-ndjson"},
        )

    def test_the_sdks_batch_flow_with_a_batch_trigger_token(self):
        token = self.token(scopes=["batchTrigger:tasks:send-email"])
        created = self.post(
            "/api/v3/batches", token=token, json={"runCount": 2, "taskIdentifiers": ["send-email"]}
        )
        self.assertEqual(created.status_code, 202, created.text)
        batch_id = created.json()["id"]
        denied = self.items(batch_id, token, ["send-email", "resize-image"])
        self.assertEqual((denied.status_code, denied.json()), (403, {"error": "Unauthorized"}))
        streamed = self.items(batch_id, token, ["send-email", "send-email"])
        self.assertEqual(streamed.status_code, 200, streamed.text)
        self.assertTrue(streamed.json()["sealed"])

    def test_every_declared_task_must_be_allowed(self):
        token = self.token(scopes=["batchTrigger:tasks:send-email"])
        for body in (
            {"runCount": 2, "taskIdentifiers": ["send-email", "resize-image"]},
            {"runCount": 1},
        ):
            with self.subTest(body=body):
                response = self.post("/api/v3/batches", token=token, json=body)
                self.assertEqual((response.status_code, response.json()), (403, RBAC_403))
        broad = self.token(scopes=["batchTrigger:tasks"])
        self.assertEqual(
            self.post("/api/v3/batches", token=broad, json={"runCount": 1}).status_code, 202
        )
        v2 = self.post(
            "/api/v2/tasks/batch",
            token=token,
            json={"items": [{"task": "send-email"}, {"task": "resize-image"}]},
        )
        self.assertEqual((v2.status_code, v2.json()), (403, RBAC_403))

    def test_a_trigger_token_cannot_batch(self):
        token = self.token(scopes=["trigger:tasks:send-email"])
        response = self.post(
            "/api/v3/batches", token=token, json={"runCount": 1, "taskIdentifiers": ["send-email"]}
        )
        self.assertEqual((response.status_code, response.json()), (403, RBAC_403))
