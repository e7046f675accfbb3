"""The runs admin over real HTTP to the emulator: changelist, filters, cursor pages, search,
detail page, escaping and requests per view."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from django.test import SimpleTestCase, override_settings

from django_trigger.admin.runs import format_cost, format_duration

from .base import RUN_RETRIEVE, RUNS_LIST, AdminTestCase


class RunChangelistTests(AdminTestCase):
    def get_list(self, **params):
        self.journal.clear()
        return self.client.get(self.url("run_changelist"), params)

    def list_query(self):
        entries = self.journal.filter(path=RUNS_LIST)
        self.assertEqual(len(entries), 1, self.api_requests())
        return {key: values[-1] for key, values in entries[0].query.items()}

    def test_one_request_per_view_and_no_count(self):
        response = self.get_list()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.api_requests(), [("GET", RUNS_LIST)])
        self.assertEqual(self.list_query(), {"page[size]": "50"})
        runs = self.runs()
        for run in runs[:50]:
            self.assertContains(response, run.id)
        self.assertNotContains(response, "Show all")
        self.assertNotContains(response, " total")

    def test_columns(self):
        response = self.get_list()
        run = self.runs()[0]
        for header in ("Run id", "Task", "Status", "Created", "Duration", "Cost", "Tags"):
            self.assertContains(response, f"<span>{header}</span>", html=False)
        self.assertContains(response, run.task_identifier)
        self.assertContains(response, "trigger-status trigger-status-")
        self.assertNotContains(response, "?o=")  # no sort links the API cannot honour

    def test_implicit_seven_day_window_is_shown(self):
        response = self.get_list()
        self.assertContains(response, "Showing runs created in the last 7 days")
        self.assertContains(response, "Last 7 days (API default)")
        response = self.get_list(created="30d")
        self.assertNotContains(response, "Showing runs created in the last 7 days")

    def test_status_filter_is_sent_to_the_api(self):
        response = self.get_list(status="FAILED")
        self.assertEqual(self.list_query()["filter[status]"], "FAILED,INTERRUPTED")
        rows = response.context["cl"].result_list
        self.assertTrue(rows)
        self.assertEqual({row.status for row in rows}, {"FAILED"})

    def test_status_filter_shows_every_run_listed_with_that_status(self):
        # The list reports retrying runs as EXECUTING, paused ones as WAITING, waiting-for-
        # deploy ones as PENDING_VERSION and interrupted ones as FAILED; filtering by the name
        # shown must find them all (the API maps each filter name to fewer internal statuses).
        from django_trigger import get_client

        listed: dict[str, set[str]] = {}
        page = get_client().runs.list(limit=100, period="30d")
        while True:
            for run in page.data:
                listed.setdefault(str(run.status), set()).add(run.id)
            if not page.next_cursor:
                break
            page = get_client().runs.list(limit=100, period="30d", after=page.next_cursor)
        for status in ("PENDING_VERSION", "EXECUTING", "WAITING", "FAILED", "QUEUED"):
            with self.subTest(status):
                self.assertIn(status, listed)
                self.journal.clear()
                response = self.client.get(
                    self.url("run_changelist"), {"status": status, "created": "30d"}
                )
                shown = {row.id for row in response.context["cl"].result_list}
                self.assertEqual(shown, listed[status])

    def test_every_status_is_offered(self):
        response = self.get_list()
        for status in (
            "PENDING_VERSION",
            "QUEUED",
            "DEQUEUED",
            "EXECUTING",
            "WAITING",
            "COMPLETED",
            "CANCELED",
            "FAILED",
            "CRASHED",
            "SYSTEM_FAILURE",
            "DELAYED",
            "EXPIRED",
            "TIMED_OUT",
        ):
            self.assertContains(response, f"status={status}")

    def test_each_filter_maps_to_one_api_parameter(self):
        cases = [
            ({"created": "1h"}, {"filter[createdAt][period]": "1h"}),
            ({"created": "24h"}, {"filter[createdAt][period]": "1d"}),
            ({"created": "30d"}, {"filter[createdAt][period]": "30d"}),
            ({"created": "any"}, {"filter[createdAt][from]": "1"}),
            ({"task": "send-email"}, {"filter[taskIdentifier]": "send-email"}),
            ({"tag": "org_acme"}, {"filter[tag]": "org_acme"}),
            ({"version": "20240101.1"}, {"filter[version]": "20240101.1"}),
            ({"is_test": "1"}, {"filter[isTest]": "true"}),
            ({"is_test": "0"}, {"filter[isTest]": "false"}),
            ({"schedule": "sched_abc"}, {"filter[schedule]": "sched_abc"}),
            ({"batch": "batch_abc"}, {"filter[batch]": "batch_abc"}),
            (
                {"status": "COMPLETED", "task": "sync-crm", "created": "30d"},
                {
                    "filter[status]": "COMPLETED",
                    "filter[taskIdentifier]": "sync-crm",
                    "filter[createdAt][period]": "30d",
                },
            ),
        ]
        for params, expected in cases:
            with self.subTest(params=params):
                response = self.get_list(**params)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(self.list_query(), {"page[size]": "50", **expected})

    def test_filtered_rows_come_from_the_api(self):
        response = self.get_list(task="sync-crm", created="any")
        rows = response.context["cl"].result_list
        self.assertTrue(rows)
        self.assertEqual({row.task_identifier for row in rows}, {"sync-crm"})
        response = self.get_list(is_test="1", created="any")
        self.assertTrue(all(row.is_test for row in response.context["cl"].result_list))

    def test_invalid_parameters_redirect_without_a_request(self):
        for params in (
            {"status": "BOGUS"},
            {"bogus": "1"},
            {"is_test": "maybe"},
            {"created": "2y"},
            {"task": "a,b"},
            {"alias": "nope"},
            {"p": "zzz"},
            {"id__gt": "run_1"},
        ):
            with self.subTest(params=params):
                response = self.get_list(**params)
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].endswith("?e=1"))
                self.assertEqual(self.journal.count(path=RUNS_LIST), 0)

    def test_older_and_newer_pages_keep_the_filters(self):
        response = self.get_list(created="any", task="send-email")
        cl = response.context["cl"]
        self.assertIsNotNone(cl.next_url)
        self.assertIsNone(cl.previous_url)
        self.assertContains(response, "Older")
        first_ids = [row.id for row in cl.result_list]

        older = parse_qs(urlsplit(cl.next_url).query)
        self.assertEqual(older["task"], ["send-email"])
        self.assertEqual(older["created"], ["any"])
        self.assertTrue(older["p"][0].startswith("a."))
        response = self.get_list(**{k: v[0] for k, v in older.items()})
        query = self.list_query()
        self.assertEqual(query["filter[taskIdentifier]"], "send-email")
        self.assertEqual(query["page[after]"], older["p"][0][2:])
        cl = response.context["cl"]
        second_ids = [row.id for row in cl.result_list]
        self.assertTrue(second_ids)
        self.assertFalse(set(first_ids) & set(second_ids))
        self.assertIsNotNone(cl.previous_url)
        self.assertContains(response, "Newer")

        newer = parse_qs(urlsplit(cl.previous_url).query)
        self.assertTrue(newer["p"][0].startswith("b."))
        response = self.get_list(**{k: v[0] for k, v in newer.items()})
        self.assertEqual(self.list_query()["page[before]"], newer["p"][0][2:])
        self.assertEqual([row.id for row in response.context["cl"].result_list], first_ids)

    def test_filter_links_start_again_at_the_newest_page(self):
        response = self.get_list(created="any")
        older = response.context["cl"].next_url
        response = self.client.get(self.url("run_changelist") + older)
        for spec in response.context["cl"].filter_specs:
            for choice in spec.choices(response.context["cl"]):
                self.assertNotIn("p=", choice.get("query_string", ""))
        self.assertNotIn("p=", response.context["cl"].clear_all_filters_qs)

    def test_search_by_tag(self):
        response = self.get_list(q="org_acme", created="any")
        self.assertEqual(self.list_query()["filter[tag]"], "org_acme")
        rows = response.context["cl"].result_list
        self.assertTrue(rows)
        self.assertTrue(all("org_acme" in row.tags for row in rows))

    def test_search_by_run_id_opens_the_run(self):
        run = self.runs()[3]
        response = self.get_list(q=f"  {run.id} ")
        self.assertRedirects(
            response, self.url("run_change", run.id), fetch_redirect_response=False
        )
        self.assertEqual(self.api_requests(), [("GET", RUN_RETRIEVE + run.id)])

    def test_search_by_unknown_run_id_stays_on_the_list(self):
        response = self.client.get(
            self.url("run_changelist"),
            {"q": "run_doesnotexist0000", "status": "COMPLETED"},
            follow=True,
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.redirect_chain[-1][0], self.url("run_changelist") + "?status=COMPLETED"
        )
        self.assertContains(response, "No run with the id run_doesnotexist0000")
        self.assertTrue(response.context["cl"].result_list)

    def test_script_in_tags_is_inert(self):
        response = self.get_list(created="any", tag="<script>alert(1)</script>")
        self.assertTrue(response.context["cl"].result_list)
        self.assertNotContains(response, "<script>alert(1)</script>")
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")

    def test_empty_result(self):
        response = self.get_list(task="no-such-task")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(list(response.context["cl"].result_list), [])
        self.assertNotContains(response, "Older")


class RunDetailTests(AdminTestCase):
    def test_one_request_and_every_field(self):
        run = self.completed_run()
        self.journal.clear()
        response = self.client.get(self.url("run_change", run.id))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.api_requests(), [("GET", RUN_RETRIEVE + run.id)])
        for label in (
            "Run id",
            "Task",
            "Status",
            "Payload",
            "Output",
            "Error",
            "Metadata",
            "Timings",
            "Created",
            "Started",
            "Finished",
            "Duration",
            "Cost",
            "Attempts",
            "Idempotency key",
        ):
            self.assertContains(response, label)
        self.assertContains(response, run.task_identifier)
        self.assertContains(response, 'class="trigger-json"')
        self.assertNotContains(response, 'name="_save"')  # read-only
        # The API always lists attempts as []: no second, contradicting "attempts" row.
        self.assertNotContains(response, "as the API lists them")

    def test_dashboard_link_follows_the_configuration(self):
        run = self.completed_run()
        # The emulator is not the cloud API: no link to the cloud dashboard.
        response = self.client.get(self.url("run_change", run.id))
        self.assertNotContains(response, "cloud.trigger.dev")
        self.assertNotContains(response, "Trigger.dev dashboard")
        with self.settings(
            TRIGGER={
                "default": self.emulator.client_settings(
                    DASHBOARD_URL="https://trigger.internal.example"
                )
            }
        ):
            response = self.client.get(self.url("run_change", run.id))
        self.assertContains(response, f'href="https://trigger.internal.example/runs/{run.id}"')

    def test_internal_metadata_keys_are_hidden(self):
        with self.emulator.state.lock:
            run_id = next(
                r.friendly_id
                for r in self.emulator.state.runs
                if r.metadata
                and "$$streams" in r.metadata
                and r.environment_id == self.dev_environment().id
            )
        response = self.client.get(self.url("run_change", run_id))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "progress")
        self.assertNotContains(response, "$$streams")

    def dev_environment(self):
        return self.emulator.state.environments_by_public_slug(self.emulator.project_ref)["dev"]

    def completed_run(self):
        from django_trigger import get_client

        runs = [r for r in get_client().runs.list(status=["COMPLETED"], limit=20).data]
        self.journal.clear()
        return runs[0]

    def dev_run_with_payload(self, text):
        """A seeded run of the dev environment (the client's) whose payload contains text."""
        dev = self.emulator.state.environments_by_public_slug(self.emulator.project_ref)["dev"]
        with self.emulator.state.lock:
            return next(
                r.friendly_id
                for r in self.emulator.state.runs
                if r.environment_id == dev.id and r.payload and text in r.payload
            )

    def test_payload_with_script_renders_inert(self):
        response = self.client.get(self.url("run_change", self.dev_run_with_payload("<script>")))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "<script>alert")
        self.assertContains(response, "&lt;script&gt;alert")

    def test_unicode_is_kept(self):
        response = self.client.get(self.url("run_change", self.dev_run_with_payload("Renée 🚀")))
        self.assertContains(response, "Renée 🚀")

    def test_missing_run_is_a_404(self):
        response = self.client.get(self.url("run_change", "run_doesnotexist0000"))
        self.assertEqual(response.status_code, 404)

    def test_invalid_run_id_is_a_404_without_a_request(self):
        response = self.client.get(self.url("run_change", ".."))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.journal.count(path_prefix=RUN_RETRIEVE), 0)

    def test_view_only_user_sees_no_action_buttons(self):
        run = self.runs(status=["QUEUED"])[0]  # unfinished: cancel applies
        self.login(self.make_staff("viewer", "view_run"))
        response = self.client.get(self.url("run_change", run.id))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "trigger-run-action")
        self.login(self.make_staff("canceller", "view_run", "cancel_run"))
        response = self.client.get(self.url("run_change", run.id))
        self.assertContains(response, f'{self.url("run_cancel", run.id)}"')
        self.assertNotContains(response, self.url("run_replay", run.id))


class FormattingTests(SimpleTestCase):
    def test_duration_and_cost(self):
        self.assertEqual(format_duration(0), "-")
        self.assertEqual(format_duration(350), "350 ms")
        self.assertEqual(format_duration(1500), "1.5 s")
        self.assertEqual(format_duration(125_000), "2 min 5 s")
        self.assertEqual(format_duration(3_725_000), "1 h 2 min")
        self.assertEqual(format_cost(0), "$0")
        self.assertEqual(format_cost(0.0123), "$0.000123")
        self.assertEqual(format_cost(250), "$2.5")


@override_settings()
class AliasTests(AdminTestCase):
    def setUp(self):
        super().setUp()
        emu = self.emulator
        trigger = {
            "default": emu.client_settings(),
            "prod": emu.client_settings(ACCESS_TOKEN=emu.secret_keys["prod"], ENVIRONMENT="prod"),
        }
        overridden = override_settings(TRIGGER=trigger)
        overridden.enable()
        self.addCleanup(overridden.disable)

    def test_switch_lists_the_other_client(self):
        from django_trigger.credentials import redact

        response = self.client.get(self.url("run_changelist"))
        self.assertContains(response, "Trigger.dev client")
        self.assertContains(response, "?alias=prod")
        self.journal.clear()
        response = self.client.get(
            self.url("run_changelist"), {"alias": "prod", "status": "COMPLETED"}
        )
        entry = self.journal.last(path=RUNS_LIST)
        self.assertEqual(entry.credential, redact(self.emulator.secret_keys["prod"]))
        self.assertEqual(self.journal.count(), 1)
        rows = response.context["cl"].result_list
        self.assertTrue(rows)
        self.assertTrue(all(row.environment == "prod" for row in rows))
        # Row links carry the alias, so the detail page asks the same client.
        run = rows[0]
        link = f"{self.url('run_change', run.id)}?alias=prod"
        self.assertRegex(
            response.content.decode(),
            rf'href="{re.escape(self.url("run_change", run.id))}\?[^"]*alias=prod',
        )
        self.journal.clear()
        response = self.client.get(link)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.journal.last().credential, redact(self.emulator.secret_keys["prod"]))

    def test_unknown_alias_on_a_detail_page_is_a_404(self):
        response = self.client.get(self.url("run_change", "run_abc") + "?alias=nope")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.journal.count(), 0)
