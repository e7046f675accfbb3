"""envsync planning, import batching, verification and target resolution. Pure: no HTTP (the
clients built here are never used to send anything)."""

from __future__ import annotations

from django.test import SimpleTestCase

from django_trigger.client import TriggerClient
from django_trigger.envsync import (
    Action,
    Sources,
    Target,
    TargetError,
    collect,
    import_batches,
    make_plan,
    resolve_targets,
    target_client,
    verify,
)
from django_trigger.types import REDACTED, EnvVar

TARGET = Target("proj_abc", "dev")
PAT = "tr_pat_0123456789abcdef0123456789abcdef7890"
DEV_KEY = "tr_dev_AbCdEfGhIjKlMnOpQrSt1234"


def remote(name: str, value: str, secret: bool = False) -> EnvVar:
    return EnvVar(name=name, value=REDACTED if secret else value, is_secret=secret)


def desired(variables: dict[str, str], **options):
    return collect(Sources(settings_envvars=variables, **options))


def actions(plan) -> dict[str, str]:
    return {change.name: change.action.value for change in plan.changes}


class MakePlanTests(SimpleTestCase):
    def test_every_action(self):
        plan = make_plan(
            TARGET,
            desired({"NEW": "n", "SAME": "s", "DIFF": "new", "SECRET": "x"}),
            [
                remote("SAME", "s"),
                remote("DIFF", "old"),
                remote("SECRET", "", secret=True),
                remote("EXTRA", "e"),
            ],
        )
        self.assertEqual(
            actions(plan),
            {
                "DIFF": "update",
                "EXTRA": "keep",
                "NEW": "create",
                "SAME": "unchanged",
                "SECRET": "secret",
            },
        )
        self.assertEqual([c.name for c in plan.changes], ["DIFF", "EXTRA", "NEW", "SAME", "SECRET"])
        self.assertEqual(
            plan.counts(),
            {
                "create": 1,
                "update": 1,
                "unchanged": 1,
                "secret": 1,
                "delete": 0,
                "keep": 1,
                "skipped": 0,
            },
        )
        self.assertFalse(plan.is_empty)
        secret = plan.of(Action.SECRET)[0]
        self.assertEqual(secret.reason, "secret, cannot be compared")

    def test_prune_deletes_only_remote_names_absent_from_the_sources(self):
        plan = make_plan(
            TARGET,
            desired({"A": "1"}, allow_empty=True),
            [remote("A", "1"), remote("GONE", "g"), remote("GONE2", "", True)],
            prune=True,
        )
        self.assertEqual(actions(plan), {"A": "unchanged", "GONE": "delete", "GONE2": "delete"})

    def test_skipped_empty_names_are_never_pruned(self):
        sources = desired({"A": "1", "EMPTY": " "}, allow_empty=True)
        plan = make_plan(TARGET, sources, [remote("EMPTY", "old")], prune=True)
        self.assertEqual(actions(plan), {"A": "create"})
        self.assertEqual([s.name for s in plan.skipped], ["EMPTY"])

    def test_overwrite_secrets(self):
        plan = make_plan(
            TARGET, desired({"S": "x"}), [remote("S", "", True)], overwrite_secrets=True
        )
        self.assertEqual(actions(plan), {"S": "update"})
        self.assertEqual(plan.changes[0].reason, "secret overwritten (--overwrite-secrets)")

    def test_marking_an_existing_plain_variable_secret_is_an_update(self):
        plan = make_plan(
            TARGET,
            desired({"A": "1", "B": "2"}, secret_names=["A", "B"]),
            [remote("A", "1"), remote("B", "", True)],
        )
        self.assertEqual(actions(plan), {"A": "update", "B": "secret"})
        self.assertEqual(plan.changes[0].reason, "mark as secret")

    def test_in_sync(self):
        plan = make_plan(TARGET, desired({"A": "1"}), [remote("A", "1"), remote("B", "2")])
        self.assertTrue(plan.is_empty)

    def test_values_are_masked_unless_asked(self):
        plan = make_plan(TARGET, desired({"A": "new-s3cret"}), [remote("A", "old-s3cret")])
        self.assertNotIn("s3cret", repr(plan))
        self.assertNotIn("s3cret", str(plan.to_dict()))
        shown = plan.to_dict(show_values=True)["changes"][0]
        self.assertEqual((shown["value"], shown["remote_value"]), ("new-s3cret", "old-s3cret"))


class ImportBatchTests(SimpleTestCase):
    def test_one_import_for_creates_and_updates(self):
        plan = make_plan(
            TARGET,
            desired({"NEW": "n", "DIFF": "d", "SAME": "s"}),
            [remote("DIFF", "x"), remote("SAME", "s")],
        )
        [batch] = import_batches(plan)
        self.assertEqual(batch.variables, {"DIFF": "d", "NEW": "n"})  # unchanged not sent
        self.assertTrue(batch.override)
        self.assertIsNone(batch.is_secret)

    def test_creates_only_go_without_override(self):
        plan = make_plan(TARGET, desired({"NEW": "n"}), [])
        [batch] = import_batches(plan)
        self.assertFalse(batch.override)

    def test_secrets_go_in_a_second_import(self):
        plan = make_plan(
            TARGET,
            desired({"A": "a", "S": "s", "T": "t"}, secret_names=["S", "T"]),
            [remote("T", "t")],
        )
        plain, secret = import_batches(plan)
        self.assertEqual(
            (plain.variables, plain.override, plain.is_secret), ({"A": "a"}, False, None)
        )
        self.assertEqual(
            (secret.variables, secret.override, secret.is_secret),
            ({"S": "s", "T": "t"}, True, True),
        )

    def test_nothing_to_write(self):
        plan = make_plan(
            TARGET, desired({"A": "1"}), [remote("A", "1"), remote("B", "2")], prune=True
        )
        self.assertEqual(import_batches(plan), [])


class VerifyTests(SimpleTestCase):
    def test_matching(self):
        plan = make_plan(
            TARGET,
            desired({"A": "1", "S": "s", "K": "k"}, secret_names=["S"]),
            [remote("K", "", True), remote("OLD", "o")],
            prune=True,
        )
        result = verify(plan, [remote("A", "1"), remote("S", "", True), remote("K", "", True)])
        self.assertTrue(result.ok)
        self.assertEqual(result.unverifiable, ["K"])

    def test_differences(self):
        plan = make_plan(
            TARGET,
            desired({"A": "1", "B": "2", "S": "s"}, secret_names=["S"]),
            [remote("OLD", "o")],
            prune=True,
        )
        result = verify(plan, [remote("A", "changed"), remote("S", "s"), remote("OLD", "o")])
        self.assertFalse(result.ok)
        self.assertEqual(
            [(d.name, d.problem) for d in result.differences],
            [
                ("A", "value differs"),
                ("B", "missing"),
                ("OLD", "still present"),
                ("S", "not secret"),
            ],
        )


class ResolveTargetsTests(SimpleTestCase):
    def make_client(self, token: str = PAT, **options) -> TriggerClient:
        options.setdefault("base_url", "http://127.0.0.1:9")
        client = TriggerClient(token, **options)
        self.addCleanup(client.close)
        return client

    def test_defaults_to_the_clients_project_and_environment(self):
        client = self.make_client(DEV_KEY, project_ref="proj_abc")
        self.assertEqual(resolve_targets(client), [Target("proj_abc", "dev")])

    def test_several_environments_with_a_pat(self):
        client = self.make_client(project_ref="proj_abc", environment="dev")
        targets = resolve_targets(client, environments=["dev", "stg", "staging", "production"])
        self.assertEqual(
            [str(t) for t in targets], ["proj_abc/dev", "proj_abc/staging", "proj_abc/prod"]
        )
        self.assertEqual(
            resolve_targets(client, project_ref="proj_other")[0].project_ref, "proj_other"
        )

    def test_secret_key_for_another_environment_is_refused_with_a_hint(self):
        client = self.make_client(DEV_KEY, project_ref="proj_abc")
        with self.assertRaises(TargetError) as caught:
            resolve_targets(client, environments=["dev", "prod"])
        [problem] = caught.exception.problems
        self.assertIn("secret key belongs to 'dev'", problem)
        self.assertIn("would silently write 'dev' instead of 'prod'", problem)
        self.assertIn("personal access token", problem)

    def test_pat_without_project_ref(self):
        with self.assertRaises(TargetError) as caught:
            resolve_targets(self.make_client(environment="dev"))
        self.assertEqual(
            caught.exception.problems,
            [
                "A personal access token spans projects: pass --project-ref proj_… or set "
                "PROJECT_REF for this client."
            ],
        )

    def test_bad_inputs_are_all_reported(self):
        client = self.make_client()
        with self.assertRaises(TargetError) as caught:
            resolve_targets(
                client,
                project_ref="my-project",
                environments=["qa", "prod"],
                branch="feature",
                prune=True,
            )
        problems = caught.exception.problems
        self.assertEqual(len(problems), 4, problems)
        self.assertIn(
            "--project-ref: project_ref is not a project ref (proj_…): 'my-project'", problems[0]
        )
        self.assertIn("--environment: unknown environment 'qa'", problems[1])
        self.assertIn(
            "--branch applies to preview (and dev) branches only, not to prod", problems[2]
        )
        self.assertIn("--prune cannot be used on a branch", problems[3])
        with self.assertRaises(TargetError) as caught:
            resolve_targets(self.make_client(project_ref="proj_abc"))
        self.assertIn("No environment: pass --environment", caught.exception.problems[0])

    def test_branches(self):
        client = self.make_client(
            project_ref="proj_abc", environment="preview", preview_branch="feature-login"
        )
        self.assertEqual(resolve_targets(client), [Target("proj_abc", "preview", "feature-login")])
        # The configured branch belongs to the configured environment only.
        self.assertEqual(
            resolve_targets(client, environments=["preview", "prod"]),
            [Target("proj_abc", "preview", "feature-login"), Target("proj_abc", "prod")],
        )
        self.assertEqual(
            resolve_targets(client, branch="fix/checkout"),
            [Target("proj_abc", "preview", "fix/checkout")],
        )

    def test_target_client_drops_or_swaps_the_branch_header(self):
        client = self.make_client(
            project_ref="proj_abc", environment="preview", preview_branch="feature-login"
        )
        with target_client(client, Target("proj_abc", "preview", "feature-login")) as same:
            self.assertIs(same, client)
        with target_client(client, Target("proj_abc", "prod")) as other:
            self.assertIsNot(other, client)
            self.assertIsNone(other.preview_branch)
