"""Environment variables (API.md §2.5, §6.4, §8): family-D auth (a secret key's ``{env}`` is
ignored), list/retrieve redaction and branch merging, reserved names, create as an upsert,
import (override off/on, JSON map vs array, multipart dotenv, branches and parent values),
update, delete, and the shapes against the OpenAPI file."""

from __future__ import annotations

from typing import Any

from django_trigger.testing.resources.envvars import parse_dotenv
from tests.conformance.openapi import OpenApiShapes

from .base import EmulatorCase

BAD_REF = (
    "Invalid project ref for this API key. Make sure you are using an API key associated "
    "with that project."
)
NO_VALID = "You must set at least one valid variable."
CONFLICT = (
    "Some of the variables are already set for these environments. Set override to true "
    "to override them."
)
LIST_PATH = "/api/v1/projects/{projectRef}/envvars/{env}"


class EnvVarCase(OpenApiShapes, EmulatorCase):
    def path(
        self, env: str = "dev", name: str | None = None, *, ref: str | None = None, suffix: str = ""
    ) -> str:
        path = f"/api/v1/projects/{ref or self.emu.project_ref}/envvars/{env}"
        if name is not None:
            path += f"/{name}"
        return path + suffix

    def pat(
        self,
        method: str,
        env: str,
        name: str | None = None,
        *,
        branch: str | None = None,
        suffix: str = "",
        **kwargs: Any,
    ):
        headers = {"x-trigger-branch": branch} if branch else {}
        return self.call(
            method,
            self.path(env, name, suffix=suffix),
            token=self.emu.access_token,
            headers=headers,
            **kwargs,
        )

    def listed(self, env: str = "dev", **kwargs: Any) -> dict[str, tuple[str, bool]]:
        response = self.pat("GET", env, **kwargs)
        self.assertEqual(response.status_code, 200, response.text)
        return {item["name"]: (item["value"], item["isSecret"]) for item in response.json()}

    def env(self, slug: str, branch: str | None = None):
        state = self.emu.state
        root = state.environment_for_key(self.emu.secret_keys[slug])
        return state.branch_of(root, branch) if branch else root

    def stored(self, env, name: str) -> str | None:
        """This environment's own value (unredacted, no parent fallback)."""
        with self.emu.state.lock:
            var = self.emu.state.envvars.find(env.project_ref, name)
            value = var.values.get(env.id) if var else None
            return value.value if value else None

    def is_secret(self, env, name: str) -> bool:
        with self.emu.state.lock:
            return self.emu.state.envvars.find(env.project_ref, name).values[env.id].is_secret


class EnvVarAuthTests(EnvVarCase):
    def test_a_secret_keys_path_environment_is_ignored(self):
        # The dev key reads and writes the dev environment whatever {env} says.
        for slug in ("dev", "prod", "staging", "stg", "preview", "anything"):
            with self.subTest(slug=slug):
                response = self.get(self.path(slug))
                self.assertEqual(response.status_code, 200, response.text)
                values = {i["name"]: i["value"] for i in response.json()}
                self.assertEqual(values["REGION"], "local")
        response = self.post(
            self.path("prod"), json={"name": "WRITTEN_VIA_PROD_PATH", "value": "1"}
        )
        self.assertEqual(response.json(), {"success": True})
        self.assertEqual(self.stored(self.dev_env, "WRITTEN_VIA_PROD_PATH"), "1")
        self.assertIsNone(self.stored(self.env("prod"), "WRITTEN_VIA_PROD_PATH"))

    def test_a_secret_key_of_another_project_is_400(self):
        other = self.emu.state.second_project.ref
        self.assertError(self.get(self.path("dev", ref=other)), 400, BAD_REF)
        self.assertError(self.post(self.path("dev", ref="proj_nope"), json={}), 400, BAD_REF)

    def test_pat_selects_the_environment_by_slug(self):
        # §13: the file's {env} enum is dev/staging/prod; the server also takes stg and preview.
        self.assertEqual(self.listed("prod")["REGION"], ("eu-central-1", False))
        self.assertEqual(self.listed("staging"), self.listed("stg"))
        self.assertEqual(self.listed("stg")["REGION"], ("eu-west-1", False))
        self.assertEqual(self.listed("preview")["FEATURE_FLAGS"], ("<redacted>", True))
        self.assertError(self.pat("GET", "production"), 404, "Environment not found")

    def test_pat_dev_is_the_callers_own_dev_environment(self):
        self.pat("POST", "dev", json={"name": "MINE", "value": "alice"})
        self.assertEqual(self.stored(self.dev_env, "MINE"), "alice")
        bob = self.emu.state.user_by_name("bob")
        with self.emu.state.lock:
            bobs = self.emu.state.environment(
                self.emu.project_ref, "DEVELOPMENT", owner_user_id=bob.id
            )
        self.assertIsNone(self.stored(bobs, "MINE"))

    def test_pat_project_visibility(self):
        foreign = self.emu.state.foreign_project.ref
        for ref in (foreign, "proj_doesnotexist"):
            with self.subTest(ref=ref):
                self.assertError(
                    self.call("GET", self.path("dev", ref=ref), token=self.emu.access_token),
                    404,
                    "Project not found",
                )
        second = self.emu.state.second_project.ref
        self.assertEqual(
            self.call(
                "GET", self.path("prod", ref=second), token=self.emu.access_token
            ).status_code,
            200,
        )

    def test_pat_branches(self):
        self.assertIn("LOGIN_PROVIDER", self.listed("preview", branch="feature-login"))
        self.assertIn("LOGIN_PROVIDER", self.listed("preview", branch="refs/heads/feature-login"))
        self.assertError(self.pat("GET", "preview", branch="nope"), 404, "Branch not found")
        self.assertError(self.pat("GET", "dev", branch="nope"), 404, "Branch not found")

    def test_unknown_tokens_and_missing_header(self):
        self.assertError(self.get(self.path(), token="tr_pat_" + "x" * 40), 401, "Invalid API key")
        self.assertError(self.get(self.path(), token="tr_prod_" + "x" * 24), 401, "Invalid API key")
        self.assertEqual(
            self.get(self.path(), token=None).headers["Content-Type"], "application/problem+json"
        )

    def test_preview_key_needs_a_branch_and_then_uses_it(self):
        key = self.emu.secret_keys["preview"]
        self.assertError(
            self.get(self.path("preview"), token=key),
            401,
            "x-trigger-branch header required for preview env",
        )
        response = self.get(
            self.path("preview"), token=key, headers={"x-trigger-branch": "feature-login"}
        )
        names = {i["name"] for i in response.json()}
        self.assertIn("LOGIN_PROVIDER", names)

    def test_restricted_keys_need_the_envvars_scope(self):
        state = self.emu.state
        with state.lock:
            reader = state.add_api_key(self.dev_env, scopes={"read:runs"})
            allowed = state.add_api_key(self.dev_env, scopes={"envvars"})
        self.assertError(
            self.get(self.path(), token=reader),
            403,
            "You don't have permission to access this environment's environment variables.",
        )
        self.assertEqual(self.get(self.path(), token=allowed).status_code, 200)


class ListAndRetrieveTests(EnvVarCase):
    def test_list_is_a_bare_array_with_secrets_redacted(self):
        response = self.get(self.path())
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertIsInstance(body, list)
        items = {i["name"]: i for i in body}
        self.assertEqual(
            items["DATABASE_URL"], {"name": "DATABASE_URL", "value": "<redacted>", "isSecret": True}
        )
        self.assertEqual(
            items["LOG_LEVEL"], {"name": "LOG_LEVEL", "value": "debug", "isSecret": False}
        )
        self.assertTrue(self.stored(self.dev_env, "DATABASE_URL").startswith("postgres://"))
        # §13: list items carry isSecret, which the OpenAPI EnvVar schema does not list.
        self.assertConforms(body, LIST_PATH)

    def test_reserved_names_are_hidden(self):
        with self.emu.state.lock:
            self.emu.state.envvars.set(self.dev_env, "TRIGGER_SECRET_KEY", "tr_dev_leak")
        self.assertNotIn("TRIGGER_SECRET_KEY", self.listed())
        self.assertError(
            self.get(self.path("dev", "TRIGGER_SECRET_KEY")), 404, "Environment variable not found"
        )

    def test_branches_merge_parent_values_and_the_child_wins(self):
        parent = self.listed("preview")
        login = self.listed("preview", branch="feature-login")
        checkout = self.listed("preview", branch="fix/checkout")
        self.assertEqual(
            login["API_BASE_URL"], ("https://feature-login.preview.example.com", False)
        )
        self.assertEqual(parent["API_BASE_URL"], ("https://preview.api.example.com", False))
        self.assertEqual(login["REGION"], parent["REGION"])
        self.assertEqual(login["LOGIN_PROVIDER"], ("passkeys", False))
        self.assertEqual(checkout, parent)  # inherits everything, adds nothing
        one = self.pat("GET", "preview", "API_BASE_URL", branch="feature-login").json()
        self.assertEqual(one["value"], "https://feature-login.preview.example.com")

    def test_secret_in_the_parent_redacts_the_childs_own_value(self):
        child = self.env("preview", "fix/checkout")
        with self.emu.state.lock:
            self.emu.state.envvars.set(child, "FEATURE_FLAGS", "child-only", is_secret=False)
        self.assertEqual(
            self.listed("preview", branch="fix/checkout")["FEATURE_FLAGS"], ("<redacted>", True)
        )

    def test_retrieve(self):
        body = self.get(self.path("dev", "REGION")).json()
        self.assertEqual(body, {"name": "REGION", "value": "local", "isSecret": False})
        self.assertConforms(body, LIST_PATH + "/{name}")
        secret = self.get(self.path("dev", "SLACK_API_KEY")).json()
        self.assertEqual((secret["value"], secret["isSecret"]), ("<redacted>", True))

    def test_retrieve_unknown_or_only_elsewhere_is_404(self):
        for name in ("NOPE", "SENTRY_DSN"):  # SENTRY_DSN exists only in production
            with self.subTest(name=name):
                self.assertError(
                    self.get(self.path("dev", name)), 404, "Environment variable not found"
                )
        self.assertEqual(self.pat("GET", "prod", "SENTRY_DSN").status_code, 200)
        self.assertConforms(
            self.get(self.path("dev", "NOPE")).json(), LIST_PATH + "/{name}", "get", "404"
        )


class CreateTests(EnvVarCase):
    def test_create_then_create_again_is_an_upsert(self):
        response = self.post(self.path(), json={"name": "NEW_VAR", "value": "one"})
        self.assertEqual((response.status_code, response.json()), (200, {"success": True}))
        self.assertConforms(response.json(), LIST_PATH, "post")
        self.assertEqual(self.listed()["NEW_VAR"], ("one", False))
        self.post(self.path(), json={"name": "NEW_VAR", "value": "two"})
        self.assertEqual(self.listed()["NEW_VAR"], ("two", False))

    def test_is_secret(self):
        self.post(self.path(), json={"name": "TOKEN", "value": "s3cret", "isSecret": True})
        self.assertEqual(self.listed()["TOKEN"], ("<redacted>", True))
        self.assertEqual(self.stored(self.dev_env, "TOKEN"), "s3cret")
        # omitted isSecret keeps an existing value's flag
        self.post(self.path(), json={"name": "TOKEN", "value": "rotated"})
        self.assertTrue(self.is_secret(self.dev_env, "TOKEN"))
        self.post(self.path(), json={"name": "TOKEN", "value": "rotated", "isSecret": False})
        self.assertEqual(self.listed()["TOKEN"], ("rotated", False))

    def test_reserved_and_blank_entries(self):
        for name in ("TRIGGER_SECRET_KEY", "TRIGGER_API_URL"):
            with self.subTest(name=name):
                self.assertError(
                    self.post(self.path(), json={"name": name, "value": "x"}),
                    400,
                    NO_VALID + " All the variables submitted are not allowed.",
                )
        for name, value in (("BLANK", "   "), ("  ", "value"), ("", "")):
            with self.subTest(name=name, value=value):
                self.assertError(
                    self.post(self.path(), json={"name": name, "value": value}), 400, NO_VALID
                )
        names = self.listed()
        self.assertNotIn("BLANK", names)
        self.assertNotIn("TRIGGER_API_URL", names)

    def test_invalid_body(self):
        response = self.post(self.path(), json={"name": "X", "isSecret": "yes"})
        self.assertEqual(response.status_code, 400)
        body = response.json()
        self.assertEqual(body["error"], "Invalid request body")
        self.assertEqual(
            [(i["path"], i["message"]) for i in body["issues"]],
            [(["value"], "Required"), (["isSecret"], "Expected boolean, received string")],
        )
        self.assertConforms(body, LIST_PATH, "post", "400")

    def test_a_body_that_is_not_json_throws_in_the_route(self):
        self.assertError(self.post(self.path(), data=b"name=X"), 500, "Internal Server Error")


class ImportTests(EnvVarCase):
    def test_override_false_refuses_and_writes_nothing(self):
        response = self.post(
            self.path(suffix="/import"), json={"variables": {"REGION": "mars", "BRAND_NEW": "1"}}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.json(),
            {
                "error": CONFLICT,
                "variableErrors": [
                    {"key": "REGION", "error": "Variable already set in Development."}
                ],
            },
        )
        self.assertConforms(response.json(), LIST_PATH + "/import", "post", "400")
        names = self.listed()
        self.assertEqual(names["REGION"], ("local", False))
        self.assertNotIn("BRAND_NEW", names)

    def test_conflict_names_the_environment(self):
        response = self.pat("POST", "prod", suffix="/import", json={"variables": {"REGION": "x"}})
        self.assertEqual(
            response.json()["variableErrors"][0]["error"], "Variable already set in Production."
        )

    def test_override_true_writes_everything(self):
        response = self.post(
            self.path(suffix="/import"),
            json={"variables": {"REGION": "mars", "BRAND_NEW": "1"}, "override": True},
        )
        self.assertEqual(response.json(), {"success": True})
        self.assertConforms(response.json(), LIST_PATH + "/import", "post")
        names = self.listed()
        self.assertEqual((names["REGION"], names["BRAND_NEW"]), (("mars", False), ("1", False)))

    def test_is_secret_applies_to_the_imported_values(self):
        self.post(self.path(suffix="/import"), json={"variables": {"A_KEY": "k"}, "isSecret": True})
        self.assertEqual(self.listed()["A_KEY"], ("<redacted>", True))

    def test_variables_must_be_a_map(self):
        # §13: the file documents ``variables`` as an array of {name, value}; the server wants
        # an object map and answers an array with 400 ``Invalid body``.
        for body in (
            {"variables": [{"name": "A", "value": "1"}]},
            {"variables": {"A": 1}},
            {"variables": {"A": "1"}, "override": "true"},
            {},
            [],
            {"variables": {"A": "1"}, "source": {"type": "user"}},
            {"variables": {"A": "1"}, "source": {"type": ["user"]}},
        ):
            with self.subTest(body=body):
                self.assertError(
                    self.post(self.path(suffix="/import"), json=body), 400, "Invalid body"
                )

    def test_blank_and_reserved_entries_are_dropped(self):
        response = self.post(
            self.path(suffix="/import"),
            json={
                "variables": {"GOOD": "1", "EMPTY": "  ", "TRIGGER_API_URL": "http://x", " ": "v"}
            },
        )
        self.assertEqual(response.json(), {"success": True})
        names = self.listed()
        self.assertIn("GOOD", names)
        self.assertNotIn("EMPTY", names)
        self.assertError(
            self.post(self.path(suffix="/import"), json={"variables": {"TRIGGER_SECRET_KEY": "x"}}),
            400,
            NO_VALID + " All the variables submitted are not allowed.",
        )
        self.assertError(
            self.post(self.path(suffix="/import"), json={"variables": {}}), 400, NO_VALID
        )

    def test_branch_import_inherits_the_parents_secret_flag(self):
        self.pat(
            "POST",
            "preview",
            suffix="/import",
            branch="fix/checkout",
            json={"variables": {"FEATURE_FLAGS": "branch-flags", "PLAIN": "p"}},
        )
        child = self.env("preview", "fix/checkout")
        self.assertTrue(self.is_secret(child, "FEATURE_FLAGS"))
        self.assertFalse(self.is_secret(child, "PLAIN"))
        self.assertEqual(self.stored(child, "FEATURE_FLAGS"), "branch-flags")

    def test_parent_variables_are_written_for_branch_targets_only(self):
        response = self.pat(
            "POST",
            "preview",
            suffix="/import",
            branch="feature-login",
            json={"variables": {"CHILD_ONLY": "c"}, "parentVariables": {"SHARED_NEW": "p"}},
        )
        self.assertEqual(response.json(), {"success": True})
        self.assertEqual(self.stored(self.env("preview"), "SHARED_NEW"), "p")
        self.assertEqual(self.stored(self.env("preview", "feature-login"), "CHILD_ONLY"), "c")
        self.assertIsNone(self.stored(self.env("preview"), "CHILD_ONLY"))
        self.post(
            self.path(suffix="/import"),
            json={"variables": {"X1": "1"}, "parentVariables": {"X2": "2"}},
        )
        self.assertIsNone(self.stored(self.dev_env, "X2"))  # dev is not a branch

    def test_branch_import_succeeds_if_either_write_does(self):
        # The child write conflicts, the parent write succeeds: still a success.
        response = self.pat(
            "POST",
            "preview",
            suffix="/import",
            branch="feature-login",
            json={"variables": {"LOGIN_PROVIDER": "sso"}, "parentVariables": {"PARENT_NEW": "p"}},
        )
        self.assertEqual(response.json(), {"success": True})
        self.assertEqual(
            self.stored(self.env("preview", "feature-login"), "LOGIN_PROVIDER"), "passkeys"
        )
        # Both conflict: the child's error.
        response = self.pat(
            "POST",
            "preview",
            suffix="/import",
            branch="feature-login",
            json={"variables": {"LOGIN_PROVIDER": "sso"}, "parentVariables": {"REGION": "x"}},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.json()["variableErrors"],
            [{"key": "LOGIN_PROVIDER", "error": "Variable already set in Preview."}],
        )

    def test_multipart_dotenv_upload(self):
        dotenv = (
            b'# comment\nexport UPLOADED=plain\nQUOTED="line1\\nline2" # trailing\n'
            b"SINGLE='kept \\n as is'\nREGION=override-me\n"
        )
        files = {"variables": (".env", dotenv, "text/plain")}
        response = self.post(self.path(suffix="/import"), files=files)
        self.assertEqual(response.json()["variableErrors"][0]["key"], "REGION")
        self.assertIsNone(self.stored(self.dev_env, "UPLOADED"))
        response = self.post(
            self.path(suffix="/import"), files={**files, "override": (None, "true")}
        )
        self.assertEqual(response.json(), {"success": True})
        self.assertEqual(self.stored(self.dev_env, "UPLOADED"), "plain")
        self.assertEqual(self.stored(self.dev_env, "QUOTED"), "line1\nline2")
        self.assertEqual(self.stored(self.dev_env, "SINGLE"), "kept \\n as is")
        self.assertEqual(self.stored(self.dev_env, "REGION"), "override-me")

    def test_multipart_without_a_file_is_invalid_file(self):
        response = self.post(
            self.path(suffix="/import"),
            files={"variables": (None, "A=1"), "override": (None, "true")},
        )
        self.assertError(response, 400, "Invalid file")

    def test_dotenv_parser(self):
        text = (
            'A=1\r\nexport B = two words \nC: colon\nD="x # not a comment"\nE=`tick`\n'
            "F=#empty\nA=again\n  G = 'single' # c\n"
        )
        self.assertEqual(
            parse_dotenv(text),
            {
                "A": "again",
                "B": "two words",
                "C": "colon",
                "D": "x # not a comment",
                "E": "tick",
                "F": "",
                "G": "single",
            },
        )


class UpdateAndDeleteTests(EnvVarCase):
    def test_put_and_post_update_the_value(self):
        for method, value in (("PUT", "put-value"), ("POST", "post-value")):
            with self.subTest(method=method):
                response = self.call(method, self.path("dev", "REGION"), json={"value": value})
                self.assertEqual(response.json(), {"success": True})
                self.assertEqual(self.stored(self.dev_env, "REGION"), value)
        self.assertConforms({"success": True}, LIST_PATH + "/{name}", "put")

    def test_update_needs_the_name_somewhere_in_the_project(self):
        self.assertError(
            self.put(self.path("dev", "NOPE"), json={"value": "x"}),
            404,
            "Environment variable not found",
        )
        self.assertError(
            self.put(self.path("dev", "NOPE"), json={"wrong": 1}),
            404,
            "Environment variable not found",
        )  # before the body is read
        # SENTRY_DSN exists in production only: the dev value is created (not secret).
        self.assertEqual(
            self.put(self.path("dev", "SENTRY_DSN"), json={"value": "dsn"}).json(),
            {"success": True},
        )
        self.assertEqual(self.listed()["SENTRY_DSN"], ("dsn", False))

    def test_blank_value_is_a_successful_no_op(self):
        self.assertEqual(
            self.put(self.path("dev", "REGION"), json={"value": "  "}).json(), {"success": True}
        )
        self.assertEqual(self.stored(self.dev_env, "REGION"), "local")

    def test_update_body_errors(self):
        response = self.put(self.path("dev", "REGION"), json={"value": 5})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "Invalid request body")
        self.assertEqual(response.json()["issues"][0]["path"], ["value"])
        self.assertError(
            self.put(self.path("dev", "REGION"), data=b"nope"), 500, "Internal Server Error"
        )

    def test_delete_removes_this_environments_value_only(self):
        response = self.call("DELETE", self.path("dev", "REGION"))
        self.assertEqual(response.json(), {"success": True})
        self.assertConforms(response.json(), LIST_PATH + "/{name}", "delete")
        self.assertNotIn("REGION", self.listed())
        self.assertEqual(self.listed("prod")["REGION"], ("eu-central-1", False))

    def test_delete_errors(self):
        self.assertError(
            self.call("DELETE", self.path("dev", "NOPE")), 404, "Environment variable not found"
        )
        self.assertError(
            self.call("DELETE", self.path("dev", "SENTRY_DSN")),
            400,
            "Environment variable value not found",
        )

    def test_deleting_the_last_value_deletes_the_variable(self):
        self.post(self.path(), json={"name": "ONLY_DEV", "value": "1"})
        self.call("DELETE", self.path("dev", "ONLY_DEV"))
        self.assertError(
            self.put(self.path("dev", "ONLY_DEV"), json={"value": "2"}),
            404,
            "Environment variable not found",
        )


class SeedTests(EnvVarCase):
    def test_seeded_values_are_deterministic(self):
        with self.emu.state.lock:
            before = self.emu.state.envvars.resolved(self.env("prod"))
            dsn = self.emu.state.envvars.value(self.env("prod"), "DATABASE_URL")
        self.emu.reset()
        with self.emu.state.lock:
            self.assertEqual(self.emu.state.envvars.resolved(self.env("prod")), before)
            self.assertEqual(self.emu.state.envvars.value(self.env("prod"), "DATABASE_URL"), dsn)
        self.assertIn("SENTRY_DSN", dict((k, v) for k, v, _s in before))


class ProjectRouteTests(EnvVarCase):
    """``GET /api/v1/projects/{ref}/envvars`` (runtime values) and ``…/{ref}/{env}``."""

    def runtime(self, token: Any, ref: str | None = None, **headers: str):
        return self.get(
            f"/api/v1/projects/{ref or self.emu.project_ref}/envvars", token=token, headers=headers
        )

    def test_runtime_variables_are_unredacted_with_built_ins(self):
        prod = self.emu.secret_keys["prod"]
        variables = self.runtime(prod).json()["variables"]
        with self.emu.state.lock:
            dsn = self.emu.state.envvars.value(self.env("prod"), "DATABASE_URL")
        self.assertEqual(variables["DATABASE_URL"], dsn)  # a secret, in clear
        self.assertEqual(variables["TRIGGER_SECRET_KEY"], prod)
        self.assertEqual(variables["TRIGGER_API_URL"], self.emu.base_url)
        dev = self.runtime(self.emu.secret_key).json()["variables"]
        self.assertNotIn("TRIGGER_SECRET_KEY", dev)
        self.assertEqual(dev["OTEL_EXPORTER_OTLP_ENDPOINT"], self.emu.base_url + "/otel")

    def test_runtime_variables_of_a_branch(self):
        variables = self.runtime(
            self.emu.secret_keys["preview"], **{"x-trigger-branch": "feature-login"}
        ).json()["variables"]
        self.assertEqual(variables["TRIGGER_PREVIEW_BRANCH"], "feature-login")
        self.assertEqual(variables["TRIGGER_SECRET_KEY"], self.emu.secret_keys["preview"])
        self.assertEqual(variables["API_BASE_URL"], "https://feature-login.preview.example.com")
        self.assertEqual(variables["FEATURE_FLAGS"], "beta-dashboard,new-billing")

    def test_runtime_variables_auth(self):
        self.assertError(self.runtime(self.emu.access_token), 401, "Invalid API key")
        self.assertError(
            self.runtime(self.emu.secret_key, ref=self.emu.state.second_project.ref),
            404,
            "Project not found",
        )
        with self.emu.state.lock:
            runs_only = self.emu.state.add_api_key(self.dev_env, scopes={"read:runs"})
        self.assertError(self.runtime(runs_only), 403, "Unauthorized")

    def test_project_environment_bootstrap(self):
        ref = self.emu.project_ref
        body = self.call("GET", f"/api/v1/projects/{ref}/prod", token=self.emu.access_token)
        self.assertEqual(
            body.json(),
            {
                "apiKey": self.emu.secret_keys["prod"],
                "name": "Web App",
                "apiUrl": self.emu.base_url,
                "projectId": self.emu.state.default_project.id,
                "defaultRuntime": None,
            },
        )
        branch = self.call(
            "GET",
            f"/api/v1/projects/{ref}/preview",
            token=self.emu.access_token,
            headers={"x-trigger-branch": "fix/checkout"},
        ).json()
        self.assertEqual(branch["apiKey"], self.emu.secret_keys["preview"])
        # a secret key gets itself back, whatever {env} says
        own = self.get(f"/api/v1/projects/{ref}/prod").json()
        self.assertEqual(own["apiKey"], self.emu.secret_key)
        for slug in ("stg", "production"):
            with self.subTest(slug=slug):
                self.assertError(
                    self.get(f"/api/v1/projects/{ref}/{slug}", token="tr_pat_x"),
                    400,
                    "Invalid Params",
                )  # validated before auth


class DefaultDevBranchTests(EnvVarCase):
    def test_the_default_dev_branch_is_the_root_dev_environment(self):
        self.assertEqual(self.listed("dev", branch="default"), self.listed("dev"))
        response = self.get(self.path("dev"), headers={"x-trigger-branch": "default"})
        self.assertEqual(response.status_code, 200)
