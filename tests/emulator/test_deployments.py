"""Deployments (API.md §6.7): family A (list, current) and C (retrieve, latest, promote) auth,
the forward-only cursor with its page-size clamping, filters, current/latest, promotion rules,
and the shapes against the OpenAPI file.

Seed with the frozen clock (Wednesday 2026-03-18 12:00Z): production holds six weekly DEPLOYED
versions ``20260209.2`` … ``20260316.1`` (current), a FAILED ``20260316.2`` and a BUILDING
``20260318.1``."""

from __future__ import annotations

from typing import Any

from tests.conformance.openapi import OpenApiShapes

from .base import EmulatorCase
from .test_queues import RBAC_403, public_jwt

DEPLOYMENTS = "/api/v1/deployments"
PROD_VERSIONS = [
    "20260318.1",
    "20260316.2",
    "20260316.1",
    "20260309.2",
    "20260302.1",
    "20260223.2",
    "20260216.1",
    "20260209.2",
]


class DeploymentCase(OpenApiShapes, EmulatorCase):
    @property
    def prod(self) -> str:
        return self.emu.secret_keys["prod"]

    def list(self, token: Any = None, **params: Any):
        return self.get(DEPLOYMENTS, token=token or self.prod, params=params)

    def env(self, slug: str):
        return self.emu.state.environment_for_key(self.emu.secret_keys[slug])

    def by_version(self, version: str, slug: str = "prod"):
        with self.emu.state.lock:
            return self.emu.state.deployments.by_version(self.env(slug).id, version)

    def promote(self, version: str, token: Any = None, **params: Any):
        return self.post(
            f"{DEPLOYMENTS}/{version}/promote", token=token or self.prod, params=params
        )

    def current_version(self) -> str:
        return self.get(f"{DEPLOYMENTS}/current", token=self.prod).json()["version"]


class DeploymentAuthTests(DeploymentCase):
    def test_pats_and_unknown_keys_are_refused_everywhere(self):
        for token in (self.emu.access_token, "tr_prod_" + "x" * 24):
            for method, path in (
                ("GET", DEPLOYMENTS),
                ("GET", f"{DEPLOYMENTS}/current"),
                ("GET", f"{DEPLOYMENTS}/latest"),
                ("GET", f"{DEPLOYMENTS}/deployment_x"),
                ("POST", f"{DEPLOYMENTS}/20260316.1/promote"),
            ):
                with self.subTest(token=token[:8], path=path):
                    self.assertError(self.call(method, path, token=token), 401, "Invalid API key")

    def test_family_a_restricted_keys_get_the_rbac_403(self):
        with self.emu.state.lock:
            runs_only = self.emu.state.add_api_key(self.env("prod"), scopes={"read:runs"})
            reader = self.emu.state.add_api_key(self.env("prod"), scopes={"read:deployments"})
        for path in (DEPLOYMENTS, f"{DEPLOYMENTS}/current"):
            with self.subTest(path=path):
                response = self.get(path, token=runs_only)
                self.assertEqual((response.status_code, response.json()), (403, RBAC_403))
                self.assertEqual(self.get(path, token=reader).status_code, 200)

    def test_current_looks_the_deployment_up_before_authorizing(self):
        with self.emu.state.lock:
            runs_only = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
        response = self.get(f"{DEPLOYMENTS}/current", token=runs_only)
        self.assertError(response, 404, "Not found")
        self.assertEqual(response.headers["x-should-retry"], "false")

    def test_family_c_restricted_keys_need_the_scope(self):
        deployment = self.by_version("20260316.1")
        with self.emu.state.lock:
            runs_only = self.emu.state.add_api_key(self.env("prod"), scopes={"read:runs"})
            reader = self.emu.state.add_api_key(self.env("prod"), scopes={"read:deployments"})
        path = f"{DEPLOYMENTS}/{deployment.friendly_id}"
        self.assertError(self.get(path, token=runs_only), 403, "Unauthorized")
        self.assertEqual(self.get(path, token=reader).status_code, 200)
        self.assertError(
            self.promote("20260309.2", token=reader, allowRollbacks="true"), 403, "Unauthorized"
        )

    def test_public_jwt_may_list_and_read_current(self):
        token = public_jwt(self.dev_env, ["read:deployments"])
        self.assertEqual(self.get(DEPLOYMENTS, token=token).json(), {"data": [], "pagination": {}})
        self.assertError(self.get(f"{DEPLOYMENTS}/latest", token=token), 401, "Invalid API key")

    def test_current_is_not_rate_limited_and_the_list_uses_the_deploy_bucket(self):
        current = self.get(f"{DEPLOYMENTS}/current", token=self.prod)
        self.assertNotIn("x-ratelimit-limit", current.headers)
        self.assertEqual(self.list().headers["x-ratelimit-limit"], "1500")


class ListDeploymentTests(DeploymentCase):
    def test_newest_first_with_the_default_page(self):
        body = self.list().json()
        self.assertEqual([d["version"] for d in body["data"]], PROD_VERSIONS)
        self.assertEqual(body["pagination"], {})
        self.assertConforms(body, DEPLOYMENTS)

    def test_item_shapes(self):
        items = {d["version"]: d for d in self.list().json()["data"]}
        deployed, failed, building = items["20260316.1"], items["20260316.2"], items["20260318.1"]
        self.assertEqual(deployed["status"], "DEPLOYED")
        self.assertEqual(deployed["deployedAt"], "2026-03-16T10:00:00.000Z")
        self.assertEqual((deployed["runtime"], deployed["runtimeVersion"]), ("node", "22.12.0"))
        self.assertNotIn("deployedAt", building)
        self.assertNotIn("error", deployed)
        self.assertEqual(failed["error"]["name"], "BuildError")
        self.assertIsNone(failed["runtimeVersion"])
        for item in items.values():
            if "git" in item:  # omitted, never null, when the deployment has no git metadata
                self.assertIsInstance(item["git"], dict)
        self.assertTrue(any("git" not in item for item in items.values()))

    def test_forward_only_cursor(self):
        first = self.list(**{"page[size]": 5}).json()
        self.assertEqual([d["version"] for d in first["data"]], PROD_VERSIONS[:5])
        self.assertEqual(first["pagination"], {"next": first["data"][-1]["id"]})
        second = self.list(**{"page[size]": 5, "page[after]": first["pagination"]["next"]}).json()
        self.assertEqual([d["version"] for d in second["data"]], PROD_VERSIONS[5:])
        self.assertEqual(second["pagination"], {})  # no next, and never a previous

    def test_page_size_is_validated_then_clamped(self):
        for size in ("1", "2.5", "5"):
            with self.subTest(size=size):
                body = self.list(**{"page[size]": size}).json()
                self.assertEqual(len(body["data"]), 5)
                self.assertIn("next", body["pagination"])
        self.assertEqual(len(self.list(**{"page[size]": 100}).json()["data"]), 8)
        for size, message in (
            ("0", "Limit must be at least 1"),
            ("101", "Limit must be less than 100"),
            ("abc", "Expected number, received nan"),
        ):
            with self.subTest(size=size):
                response = self.list(**{"page[size]": size})
                self.assertEqual(response.status_code, 400)
                body = response.json()
                self.assertEqual(body["error"], "Query Error")
                self.assertEqual(
                    (body["details"][0]["path"], body["details"][0]["message"]),
                    (["page[size]"], message),
                )
        # a fractional size above the clamp reaches the database as a fractional ``take``
        self.assertError(self.list(**{"page[size]": "7.5"}), 500, "Internal Server Error")

    def test_unknown_or_foreign_cursor_restarts_from_the_top(self):
        staging_id = self.by_version("20260316.1", "staging").friendly_id
        for cursor in ("deployment_nope", staging_id):
            with self.subTest(cursor=cursor):
                body = self.list(**{"page[after]": cursor}).json()
                self.assertEqual([d["version"] for d in body["data"]], PROD_VERSIONS)

    def test_filters(self):
        def versions(**params: Any) -> list[str]:
            response = self.list(**params)
            self.assertEqual(response.status_code, 200, response.text)
            return [d["version"] for d in response.json()["data"]]

        self.assertEqual(versions(status="FAILED"), ["20260316.2"])
        self.assertEqual(versions(status="BUILDING"), ["20260318.1"])
        self.assertEqual(versions(period="1d"), ["20260318.1"])
        self.assertEqual(versions(period="3d"), PROD_VERSIONS[:3])
        self.assertEqual(
            versions(**{"from": "2026-03-01T00:00:00Z", "to": "2026-03-10"}),
            ["20260309.2", "20260302.1"],
        )
        self.assertEqual(versions(**{"from": "1773532800"}), PROD_VERSIONS[:3])  # 03-15, epoch s
        self.assertEqual(versions(to="2026-03-01"), PROD_VERSIONS)  # to alone is ignored
        response = self.list(status="DONE")
        self.assertEqual(response.json()["error"], "Query Error")
        for params in ({"period": "soon"}, {"from": "yesterday-ish"}, {"from": "12345"}):
            with self.subTest(params=params):
                self.assertError(self.list(**params), 500, "Internal Server Error")

    def test_development_has_no_deployments(self):
        self.assertEqual(self.get(DEPLOYMENTS).json(), {"data": [], "pagination": {}})
        response = self.get(f"{DEPLOYMENTS}/current")
        self.assertError(response, 404, "Not found")
        self.assertEqual(response.headers["x-should-retry"], "false")


class SingleDeploymentTests(DeploymentCase):
    def test_current(self):
        response = self.get(f"{DEPLOYMENTS}/current", token=self.prod)
        self.assertEqual(response.status_code, 200)
        current = response.json()
        listed = next(d for d in self.list().json()["data"] if d["version"] == "20260316.1")
        self.assertEqual(current, listed)

    def test_retrieve(self):
        deployment = self.by_version("20260316.1")
        response = self.get(f"{DEPLOYMENTS}/{deployment.friendly_id}", token=self.prod)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            (body["id"], body["status"], body["version"]),
            (deployment.friendly_id, "DEPLOYED", "20260316.1"),
        )
        self.assertEqual(body["imagePlatform"], "linux/amd64")
        for key in ("externalBuildData", "errorData", "canceledReason"):
            self.assertIn(key, body)
            self.assertIsNone(body[key])
        self.assertNotIn("integrationDeployments", body)
        worker = body["worker"]
        self.assertEqual(worker["version"], "20260316.1")
        self.assertEqual([t["slug"] for t in worker["tasks"]], self.emu.tasks)
        email = worker["tasks"][0]
        self.assertEqual(
            (email["filePath"], email["exportName"]), ("src/trigger/send-email.ts", "sendEmailTask")
        )
        self.assertConforms(body, f"{DEPLOYMENTS}/{{deploymentId}}")

    def test_retrieve_without_worker_and_not_found(self):
        building = self.by_version("20260318.1")
        body = self.get(f"{DEPLOYMENTS}/{building.friendly_id}", token=self.prod).json()
        self.assertNotIn("worker", body)
        self.assertIsNone(body["imageReference"])
        staging = self.by_version("20260316.1", "staging")
        for deployment_id in ("deployment_nope", staging.friendly_id):
            with self.subTest(deployment_id=deployment_id):
                self.assertError(
                    self.get(f"{DEPLOYMENTS}/{deployment_id}", token=self.prod),
                    404,
                    "Deployment not found",
                )

    def test_latest_is_the_newest_unmanaged_deployment(self):
        staging = self.emu.secret_keys["staging"]
        body = self.get(f"{DEPLOYMENTS}/latest", token=staging).json()
        self.assertEqual(
            set(body),
            {"id", "status", "contentHash", "shortCode", "version", "imageReference", "errorData"},
        )
        self.assertEqual((body["version"], body["status"]), ("20260318.1", "BUILDING"))
        self.assertConforms(body, f"{DEPLOYMENTS}/latest")
        self.assertError(
            self.get(f"{DEPLOYMENTS}/latest", token=self.prod), 404, "Deployment not found"
        )  # production deployments are managed


class PromoteTests(DeploymentCase):
    def test_rollback_needs_allow_rollbacks(self):
        refused = self.promote("20260309.2")
        self.assertError(
            refused, 400, "Cannot promote a deployment that is older than the current deployment."
        )
        self.assertConforms(refused.json(), f"{DEPLOYMENTS}/{{version}}/promote", "post", "400")
        self.assertEqual(self.current_version(), "20260316.1")
        response = self.promote("20260309.2", allowRollbacks="true")
        self.assertEqual(response.status_code, 200, response.text)
        deployment = self.by_version("20260309.2")
        self.assertEqual(
            response.json(),
            {
                "id": deployment.friendly_id,
                "version": "20260309.2",
                "shortCode": deployment.short_code,
            },
        )
        self.assertConforms(response.json(), f"{DEPLOYMENTS}/{{version}}/promote", "post")
        self.assertEqual(self.current_version(), "20260309.2")
        # forward again without the flag
        self.assertEqual(self.promote("20260316.1").status_code, 200)
        self.assertEqual(self.current_version(), "20260316.1")

    def test_promotion_refusals(self):
        self.assertError(
            self.promote("20260316.1"), 400, "Deployment is already the current deployment."
        )
        self.assertError(
            self.promote("20260316.2", allowRollbacks="true"),
            400,
            "Deployment is not associated with a worker and cannot be promoted.",
        )
        with self.emu.state.lock:
            self.emu.state.deployments.add(self.env("prod"), "20260318.2", status="DEPLOYING")
        self.assertError(
            self.promote("20260318.2"),
            400,
            "Deployment must be in the DEPLOYED state to be promoted.",
        )
        self.assertError(self.promote("20990101.1"), 404, "Deployment not found")
        self.assertError(
            self.promote("20260316.1", token=self.emu.secret_key), 404, "Deployment not found"
        )  # versions are per environment

    def test_a_newer_deployment_promotes_without_the_flag(self):
        with self.emu.state.lock:
            self.emu.state.deployments.add(self.env("prod"), "20260318.3", status="DEPLOYED")
        self.assertEqual(self.promote("20260318.3").status_code, 200)
        self.assertEqual(self.current_version(), "20260318.3")
