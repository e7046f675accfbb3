"""Authentication as the real server answers it (API.md §2): the rate limiter's 401, route
families A–F, environment scoping, preview branches, restricted keys and public JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from django_trigger.testing import auth
from django_trigger.testing.errors import json_reply
from django_trigger.testing.ratelimit import is_rate_limited_path

from .base import EmulatorCase

MISSING_AUTH_BODY = {
    "title": "Unauthorized",
    "status": 401,
    "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
    "detail": "No authorization header provided",
    "error": "No authorization header provided",
}
RBAC_403 = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}


def _probe(request):
    principal = request.principal
    env = principal.environment
    return json_reply(
        {
            "kind": principal.kind,
            "environment": env.id if env else None,
            "type": env.type if env else None,
            "branch": env.branch_name if env else None,
            "user": principal.user.name if principal.user else None,
        }
    )


class AuthCase(EmulatorCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        router = cls.emu.app.router
        # Probe routes for the families no endpoint of this module uses yet (C, D, F) and for
        # the restricted-key rule of family-A routes that declare no authorization.
        router.get("/api/test/scoped", _probe, auth=auth.scoped("deployments"))
        router.get("/api/test/projects/{projectRef}/envvars/{env}", _probe, auth=auth.ENVVARS)
        router.get("/api/test/open", _probe, auth=auth.NONE)
        router.get("/api/test/bearer-without-authorization", _probe, auth=auth.BEARER)

    def env_of(self, slug: str):
        return self.emu.state.environment_for_key(self.emu.secret_keys[slug])


class MissingAuthorizationTests(AuthCase):
    def test_missing_header_is_the_rate_limiters_problem_json(self):
        for method, path in (
            ("GET", "/api/v1/runs"),
            ("POST", "/api/v2/runs/run_x/cancel"),
            ("GET", "/api/v1/projects/proj_x/runs"),
            ("GET", "/api/v9/nothing"),
        ):
            with self.subTest(path=path):
                response = self.call(method, path, token=None)
                self.assertEqual(response.status_code, 401)
                self.assertEqual(response.headers["Content-Type"], "application/problem+json")
                self.assertEqual(response.json(), MISSING_AUTH_BODY)
                self.assertNotIn("x-ratelimit-limit", response.headers)

    def test_empty_bearer_token_reaches_the_route(self):
        self.assertError(self.get("/api/v1/runs", token=""), 401, "Invalid or Missing API key")

    def test_whitelisted_paths_skip_the_middleware(self):
        self.assertFalse(is_rate_limited_path("/api/v1/timezones"))
        self.assertFalse(is_rate_limited_path("/api/v1/deployments/current"))
        self.assertTrue(is_rate_limited_path("/api/v1/runs"))
        self.assertFalse(is_rate_limited_path("/healthz"))

    def test_family_f_needs_no_credential_but_the_middleware_still_wants_a_header(self):
        self.assertEqual(self.get("/api/test/open", token=None).status_code, 401)
        response = self.get("/api/test/open", token="anything")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["kind"], "anonymous")

    def test_rate_limit_headers_on_every_api_answer(self):
        ok = self.get("/api/v1/runs")
        denied = self.get("/api/v1/runs", token="tr_dev_unknownunknownunknown1")
        for response in (ok, denied):
            self.assertEqual(response.headers["x-ratelimit-limit"], "750")
            self.assertTrue(response.headers["x-ratelimit-reset"].isdigit())
        self.assertEqual(int(ok.headers["x-ratelimit-remaining"]), 749)


class FamilyATests(AuthCase):
    def test_unknown_key_pat_and_legacy_public_key(self):
        for token in ("tr_dev_unknownunknownunknown1", self.emu.access_token, "pk_dev_abc"):
            with self.subTest(token=token[:7]):
                self.assertError(self.get("/api/v1/runs", token=token), 401, "Invalid API key")

    def test_bearer_prefix_is_case_sensitive(self):
        response = self.call(
            "GET",
            "/api/v1/runs",
            token=None,
            headers={"Authorization": f"bearer {self.emu.secret_key}"},
        )
        self.assertError(response, 401, "Invalid API key")

    def test_a_secret_key_sees_only_its_environment(self):
        prod_env = self.env_of("prod")
        response = self.get(
            "/api/v1/runs",
            token=self.emu.secret_keys["prod"],
            params={"page[size]": 100, "filter[createdAt][period]": "60d"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["data"])
        self.assertEqual({r["env"]["id"] for r in response.json()["data"]}, {prod_env.id})
        dev_run = self.dev_runs()[0].friendly_id
        missing = self.get(f"/api/v3/runs/{dev_run}", token=self.emu.secret_keys["prod"])
        self.assertError(missing, 404, "Not found")
        self.assertEqual(missing.headers["x-should-retry"], "true")
        self.assertEqual(self.get(f"/api/v3/runs/{dev_run}").status_code, 200)

    def test_preview_key_needs_an_existing_branch(self):
        key = self.emu.secret_keys["preview"]
        self.assertError(
            self.get("/api/v1/runs", token=key),
            401,
            "x-trigger-branch header required for preview env",
        )
        self.assertError(
            self.get("/api/v1/runs", token=key, headers={"x-trigger-branch": "nope"}),
            401,
            "No matching branch env",
        )
        for branch in ("feature-login", "refs/heads/feature-login"):
            with self.subTest(branch=branch):
                response = self.get("/api/v1/runs", token=key, headers={"x-trigger-branch": branch})
                self.assertEqual(response.status_code, 200)
                envs = {r["env"]["name"] for r in response.json()["data"]}
                self.assertEqual(envs, {"preview"})

    def test_trigger_with_a_preview_key_lands_in_the_branch(self):
        key = self.emu.secret_keys["preview"]
        headers = {"x-trigger-branch": "fix/checkout"}
        run_id = self.post(
            "/api/v1/tasks/send-email/trigger", token=key, headers=headers, json={"payload": {}}
        ).json()["id"]
        with self.emu.state.lock:
            run = self.emu.state.runs.get(run_id)
            env = self.emu.state.environments[run.environment_id]
        self.assertEqual((env.type, env.branch_name), ("PREVIEW", "fix/checkout"))
        self.assertEqual(
            self.get(f"/api/v3/runs/{run_id}", token=key, headers=headers).status_code, 200
        )
        other = self.get(
            f"/api/v3/runs/{run_id}", token=key, headers={"x-trigger-branch": "feature-login"}
        )
        self.assertEqual(other.status_code, 404)

    def test_branch_header_on_dev_staging_and_prod_keys(self):
        probe = "/api/test/bearer-without-authorization"
        dev = self.get(probe, headers={"x-trigger-branch": "default"}).json()
        self.assertEqual(dev["environment"], self.dev_env.id)
        self.assertError(
            self.get(probe, headers={"x-trigger-branch": "feature-login"}),
            401,
            "No matching branch env",
        )
        staging = self.get(
            probe, token=self.emu.secret_keys["staging"], headers={"x-trigger-branch": "whatever"}
        ).json()
        self.assertEqual(staging["environment"], self.env_of("staging").id)

    def test_restricted_key_needs_a_scope(self):
        state = self.emu.state
        with state.lock:
            reader = state.add_api_key(self.dev_env, scopes={"read:runs"})
        self.assertTrue(reader.startswith("tr_dev_sk_"))
        self.assertEqual(self.get("/api/v1/runs", token=reader).status_code, 200)
        run_id = self.dev_runs()[0].friendly_id
        self.assertEqual(self.get(f"/api/v3/runs/{run_id}", token=reader).status_code, 200)
        denied = self.post(f"/api/v2/runs/{run_id}/cancel", token=reader)
        self.assertEqual(denied.status_code, 403)
        self.assertEqual(denied.json(), RBAC_403)
        # A family-A route without an authorization clause refuses restricted keys outright.
        response = self.get("/api/test/bearer-without-authorization", token=reader)
        self.assertEqual((response.status_code, response.json()), (403, RBAC_403))

    def test_unrestricted_additional_key_behaves_like_the_root_key(self):
        with self.emu.state.lock:
            key = self.emu.state.add_api_key(self.dev_env)
        self.assertEqual(self.get("/api/v1/runs", token=key).status_code, 200)

    def test_revoked_key_is_unknown(self):
        key = self.emu.secret_key
        with self.emu.state.lock:
            self.emu.state.revoke(key)
        self.assertError(self.get("/api/v1/runs", token=key), 401, "Invalid API key")


class PublicAccessTokenTests(AuthCase):
    def trigger_with_jwt(self) -> tuple[str, str, dict]:
        response = self.post("/api/v1/tasks/send-email/trigger", json={"payload": {"a": 1}})
        self.assertEqual(response.status_code, 200)
        claims = json.loads(response.headers["x-trigger-jwt-claims"])
        return response.json()["id"], response.headers["x-trigger-jwt"], claims

    def test_jwt_is_hs256_signed_with_the_environment_key(self):
        run_id, token, claims = self.trigger_with_jwt()
        header, payload, signature = token.split(".")
        expected = hmac.new(
            self.emu.secret_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256
        ).digest()
        self.assertEqual(base64.urlsafe_b64decode(signature + "=="), expected)
        body = json.loads(base64.urlsafe_b64decode(payload + "=="))
        self.assertEqual(json.loads(base64.urlsafe_b64decode(header + "==")), {"alg": "HS256"})
        self.assertEqual(body["iss"], "https://id.trigger.dev")
        self.assertEqual(body["aud"], "https://api.trigger.dev")
        self.assertEqual(body["sub"], self.dev_env.id)
        self.assertEqual(body["exp"] - body["iat"], 3600)
        self.assertEqual(
            claims,
            {
                "sub": self.dev_env.id,
                "pub": True,
                "scopes": [f"read:runs:{run_id}", f"write:inputStreams:{run_id}"],
            },
        )

    def test_jwt_reads_its_run_only_and_never_payloads(self):
        run_id, token, _ = self.trigger_with_jwt()
        own = self.get(f"/api/v3/runs/{run_id}", token=token)
        self.assertEqual(own.status_code, 200)
        self.assertNotIn("payload", own.json())
        other = self.dev_runs()[-1].friendly_id
        self.assertEqual(self.get(f"/api/v3/runs/{other}", token=token).json(), RBAC_403)
        self.assertEqual(self.get("/api/v1/runs", token=token).status_code, 403)

    def test_jwt_on_a_route_without_jwt_support_or_tampered(self):
        run_id, token, _ = self.trigger_with_jwt()
        self.assertError(
            self.post(f"/api/v1/runs/{run_id}/replay", token=token), 401, "Invalid API key"
        )
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        self.assertError(
            self.get(f"/api/v3/runs/{run_id}", token=tampered),
            401,
            "Public Access Token is invalid",
        )

    def test_batch_jwt_reads_its_batch(self):
        response = self.post("/api/v2/tasks/batch", json={"items": [{"task": "send-email"}]})
        token, batch_id = response.headers["x-trigger-jwt"], response.json()["id"]
        self.assertEqual(
            json.loads(response.headers["x-trigger-jwt-claims"])["scopes"],
            [f"read:batch:{batch_id}"],
        )
        self.assertEqual(self.get(f"/api/v2/batches/{batch_id}", token=token).status_code, 200)
        other = self.post("/api/v3/batches", json={"runCount": 1}).json()["id"]
        self.assertEqual(self.get(f"/api/v2/batches/{other}", token=token).json(), RBAC_403)

    def test_expired_jwt(self):
        run_id, token, _ = self.trigger_with_jwt()
        self.emu.clock.advance(3600)  # jose: exp <= now is expired
        self.assertError(
            self.get(f"/api/v3/runs/{run_id}", token=token), 401, "Public Access Token is invalid"
        )


class FamilyBTests(AuthCase):
    def test_every_failure_has_one_message(self):
        run_id = self.dev_runs()[0].friendly_id
        with self.emu.state.lock:
            restricted = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
        for token in ("tr_dev_unknownunknownunknown1", self.emu.access_token, restricted, ""):
            for path in (f"/api/v1/runs/{run_id}/metadata", f"/api/v1/runs/{run_id}/result"):
                with self.subTest(token=token[:10], path=path):
                    self.assertError(self.get(path, token=token), 401, "Invalid or Missing API Key")
        self.assertError(
            self.get(f"/api/v1/runs/{run_id}/metadata", token=self.emu.secret_keys["preview"]),
            401,
            "Invalid or Missing API Key",
        )

    def test_reschedule_spells_it_differently(self):
        response = self.post(
            "/api/v1/runs/run_x/reschedule", token=self.emu.access_token, json={"delay": "1h"}
        )
        self.assertError(response, 401, "Invalid or missing API Key")

    def test_preview_key_with_branch_works(self):
        key = self.emu.secret_keys["preview"]
        with self.emu.state.lock:
            branch = self.emu.state.branch_of(self.env_of("preview"), "feature-login")
            run = self.emu.state.runs.in_environment(branch.id)[0]
        response = self.get(
            f"/api/v1/runs/{run.friendly_id}/metadata",
            token=key,
            headers={"x-trigger-branch": "feature-login"},
        )
        self.assertEqual(response.status_code, 200)


class FamilyCTests(AuthCase):
    def test_scope_is_required_for_restricted_keys(self):
        with self.emu.state.lock:
            without = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
            with_scope = self.emu.state.add_api_key(self.dev_env, scopes={"deployments"})
        self.assertEqual(self.get("/api/test/scoped").status_code, 200)
        self.assertEqual(self.get("/api/test/scoped", token=with_scope).status_code, 200)
        denied = self.get("/api/test/scoped", token=without)
        self.assertEqual((denied.status_code, denied.json()), (403, {"error": "Unauthorized"}))
        self.assertError(
            self.get("/api/test/scoped", token=self.emu.access_token), 401, "Invalid API key"
        )


class FamilyDTests(AuthCase):
    def probe(self, env: str, project: str | None = None, **kwargs):
        return self.get(
            f"/api/test/projects/{project or self.emu.project_ref}/envvars/{env}", **kwargs
        )

    def test_pat_selects_the_environment_by_slug(self):
        pat = self.emu.access_token
        cases = {
            "dev": self.dev_env.id,
            "staging": self.env_of("staging").id,
            "stg": self.env_of("staging").id,
            "prod": self.env_of("prod").id,
            "preview": self.env_of("preview").id,
        }
        for slug, env_id in cases.items():
            with self.subTest(slug=slug):
                body = self.probe(slug, token=pat).json()
                self.assertEqual(
                    (body["kind"], body["environment"], body["user"]), ("pat", env_id, "alice")
                )
        self.assertError(self.probe("production", token=pat), 404, "Environment not found")

    def test_pat_projects_and_branches(self):
        pat = self.emu.access_token
        foreign = self.emu.state.foreign_project.ref
        self.assertError(self.probe("dev", project=foreign, token=pat), 404, "Project not found")
        self.assertError(
            self.probe("dev", project="proj_doesnotexist", token=pat), 404, "Project not found"
        )
        second = self.emu.state.second_project.ref
        self.assertEqual(self.probe("prod", project=second, token=pat).status_code, 200)
        branch = self.probe("preview", token=pat, headers={"x-trigger-branch": "fix/checkout"})
        self.assertEqual(branch.json()["branch"], "fix/checkout")
        self.assertError(
            self.probe("prod", token=pat, headers={"x-trigger-branch": "nope"}),
            404,
            "Branch not found",
        )

    def test_secret_key_uses_its_own_environment_whatever_the_slug(self):
        body = self.probe("prod").json()
        self.assertEqual((body["kind"], body["environment"]), ("secret_key", self.dev_env.id))
        self.assertError(
            self.probe("dev", project=self.emu.state.second_project.ref),
            400,
            "Invalid project ref for this API key. Make sure you are using an API key "
            "associated with that project.",
        )

    def test_secret_key_restrictions_and_unknown_tokens(self):
        with self.emu.state.lock:
            restricted = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
            allowed = self.emu.state.add_api_key(self.dev_env, scopes={"envvars"})
        self.assertError(
            self.probe("dev", token=restricted),
            403,
            "You don't have permission to access this environment's environment variables.",
        )
        self.assertEqual(self.probe("dev", token=allowed).status_code, 200)
        self.assertError(
            self.probe("dev", token="tr_pat_unknownunknownunknownunknown"), 401, "Invalid API key"
        )
        self.assertError(
            self.probe("dev", token="tr_oat_whatever"),
            401,
            "Invalid or missing organization access token",
        )


class FamilyETests(AuthCase):
    def path(self, project: str | None = None) -> str:
        return f"/api/v1/projects/{project or self.emu.project_ref}/runs"

    def test_only_personal_access_tokens(self):
        self.assertError(
            self.get(self.path(), params={"filter[env]": "dev"}), 401, "Invalid or Missing PAT"
        )
        self.assertError(
            self.get(
                self.path(), token="tr_pat_nobodynobodynobodynobody", params={"filter[env]": "dev"}
            ),
            401,
            "Invalid PAT",
        )
        pat = self.emu.access_token
        with self.emu.state.lock:
            self.emu.state.revoke(pat)
        self.assertError(
            self.get(self.path(), token=pat, params={"filter[env]": "dev"}), 401, "Invalid PAT"
        )

    def test_query_is_validated_before_auth(self):
        response = self.get(self.path(), params={"page[size]": "0"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "Query Error")

    def test_projects_the_user_cannot_see(self):
        pat = self.emu.access_token
        for project in (self.emu.state.foreign_project.ref, "proj_missing000000000"):
            self.assertError(
                self.get(self.path(project), token=pat, params={"filter[env]": "dev"}),
                404,
                "Project not found",
            )
