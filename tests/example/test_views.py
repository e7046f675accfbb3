"""The example project's views, over real HTTP to the emulator."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from .base import RUNS_LIST, ExampleTestCase

TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]+)"')
PAGE_LINK = re.compile(r'href="(\?[^"]*)" rel="(next|prev)"')


def page_links(content: str) -> dict[str, str]:
    return {rel: html.unescape(url) for url, rel in PAGE_LINK.findall(content)}


class RunListTests(ExampleTestCase):
    def test_login_required(self):
        self.client.logout()
        response = self.client.get("/")
        self.assertRedirects(response, "/admin/login/?next=/")
        self.assertEqual(self.api_calls(), [])

    def test_latest_runs_one_request(self):
        expected = [run.id for run in self.api_runs(limit=20)]
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.run_ids(response.content.decode()), expected)
        self.assertEqual(self.api_calls(), [("GET", RUNS_LIST)])
        self.assertEqual(self.journal.last().query["page[size]"], ["20"])

    def test_status_filter(self):
        expected = [run.id for run in self.api_runs(status=["FAILED"], limit=20)]
        self.assertTrue(expected, "the seeded data has failed runs")
        response = self.client.get("/", {"status": "FAILED"})
        self.assertEqual(self.run_ids(response.content.decode()), expected)
        self.assertEqual(self.journal.last().query["filter[status]"], ["FAILED"])

    def test_bad_filters_are_refused_before_any_request(self):
        for query in ({"status": "NOPE"}, {"client": "nope"}):
            with self.subTest(query=query):
                response = self.client.get("/", query)
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, "Select a valid choice", status_code=400)
        self.assertEqual(self.api_calls(), [])

    def test_pagination_with_the_api_cursors(self):
        from django_trigger import get_client

        page = get_client().runs.list(limit=20)
        first, second = page.data, page.get_next_page().data
        self.journal.clear()
        response = self.client.get("/", {"status": ""})
        links = page_links(response.content.decode())
        self.assertNotIn("prev", links)  # the newest page
        self.assertRegex(links["next"], r"^\?after=[^&]+$")  # blank filters are left out

        older = self.client.get("/" + links["next"])
        self.assertEqual(self.run_ids(older.content.decode()), [run.id for run in second])
        self.assertEqual(self.journal.last().query["page[after]"], [page.next_cursor])

        newer_link = page_links(older.content.decode())["prev"]
        self.assertNotIn("after=", newer_link)
        newer = self.client.get("/" + newer_link)
        self.assertEqual(self.run_ids(newer.content.decode()), [run.id for run in first])
        self.assertIn("page[before]", self.journal.last().query)

    def test_pages_keep_the_filters(self):
        response = self.client.get("/", {"status": "COMPLETED", "client": "default"})
        query = parse_qs(urlsplit(page_links(response.content.decode())["next"]).query)
        self.assertEqual(query["status"], ["COMPLETED"])
        self.assertEqual(query["client"], ["default"])
        older = self.client.get("/", query)
        self.assertEqual(self.journal.last().query["filter[status]"], ["COMPLETED"])
        self.assertTrue(self.run_ids(older.content.decode()))

    def test_second_client(self):
        expected = [run.id for run in self.api_runs("prod", limit=20)]
        response = self.client.get("/", {"client": "prod"})
        content = response.content.decode()
        self.assertEqual(self.run_ids(content), expected)
        self.assertEqual(self.journal.last().credential[:8], "tr_prod_")
        self.assertIn(f'href="/runs/{expected[0]}/?client=prod"', content)

    def test_values_from_the_api_are_escaped(self):
        from django_trigger import get_client

        get_client().tasks.trigger("send-email", {}, tags=["<b>bold</b>"])
        response = self.client.get("/")
        self.assertContains(response, "&lt;b&gt;bold&lt;/b&gt;")
        self.assertNotContains(response, "<b>bold</b>")


class ApiErrorTests(ExampleTestCase):
    """Each kind of API error becomes a sentence on a page that still renders."""

    def assert_error_page(self, response, status: int, text: str) -> None:
        self.assertContains(response, text, status_code=status)
        self.assertContains(response, 'class="error"', status_code=status)

    def test_unreachable(self):
        with self.settings(TRIGGER=self.trigger_setting(API_URL=self.closed_port_url())):
            response = self.client.get("/")
        self.assert_error_page(response, 502, "Trigger.dev is unreachable.")

    def test_timeout(self):
        self.emulator.faults.stall_next(1, 2.0, path=RUNS_LIST)
        setting = self.trigger_setting(TIMEOUT=0.2, RETRY={"MAX_ATTEMPTS": 1})
        with self.settings(TRIGGER=setting):
            response = self.client.get("/")
        self.assert_error_page(response, 502, "Trigger.dev did not answer in time.")

    def test_rate_limited(self):
        # A reset two minutes away is not waited for: the error says how long to wait.
        self.emulator.faults.rate_limit_next(1, reset_after=120, path=RUNS_LIST)
        response = self.client.get("/")
        self.assertEqual(response.status_code, 502)
        self.assertRegex(
            response.content.decode(),
            r"Trigger.dev is rate limiting this site. Try again in 1[12]\d seconds.",
        )

    def test_server_error_after_retries(self):
        self.emulator.faults.fail_next(10, 500, path=RUNS_LIST)
        response = self.client.get("/")
        self.assert_error_page(response, 502, "Trigger.dev had a server error (HTTP 500).")
        self.assertEqual(self.journal.count(path=RUNS_LIST), 5)  # the client's 5 attempts

    def test_refused_token(self):
        with self.settings(TRIGGER=self.trigger_setting(ACCESS_TOKEN="tr_dev_" + "x" * 24)):
            response = self.client.get("/")
        self.assert_error_page(
            response, 502, "Trigger.dev refused the access token of the “default” client."
        )

    def test_misconfigured_client_sends_nothing(self):
        with self.settings(TRIGGER=self.trigger_setting(ACCESS_TOKEN="not-a-token")):
            response = self.client.get("/")
        self.assert_error_page(response, 500, "The “default” Trigger.dev client is not configured")
        self.assertNotContains(response, "not-a-token", status_code=500)
        self.assertEqual(self.api_calls(), [])


class RunDetailTests(ExampleTestCase):
    def test_shows_the_run(self):
        from django_trigger import get_client

        result = get_client().tasks.trigger(
            "send-email", {"to": "<script>alert(1)</script>"}, tags=["welcome"]
        )
        self.journal.clear()
        response = self.client.get(f"/runs/{result.id}/")
        self.assertContains(response, result.id)
        self.assertContains(response, "send-email")
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertNotContains(response, "<script>alert")
        admin_id = result.id.replace("_", "_5F")  # admin URLs quote "_"
        self.assertContains(response, f'href="/admin/django_trigger/run/{admin_id}/change/"')
        self.assertEqual(self.api_calls(), [("GET", f"/api/v3/runs/{result.id}")])

    def test_second_client(self):
        run_id = self.api_runs("prod", limit=1)[0].id
        response = self.client.get(f"/runs/{run_id}/", {"client": "prod"})
        self.assertContains(response, run_id)
        self.assertEqual(self.journal.last().credential[:8], "tr_prod_")
        self.assertContains(response, "?alias=prod")

    def test_unknown_run_is_a_404_page(self):
        response = self.client.get("/runs/run_doesnotexist0000000000/")
        self.assertContains(
            response,
            "Trigger.dev has no run “run_doesnotexist0000000000” for the “default” client.",
            status_code=404,
        )

    def test_invalid_id_is_refused_before_sending(self):
        response = self.client.get("/runs/../")
        self.assertContains(response, "Nothing was sent to Trigger.dev", status_code=404)
        self.assertEqual(self.api_calls(), [])

    def test_unknown_client_is_a_404(self):
        response = self.client.get("/runs/run_x/", {"client": "nope"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.api_calls(), [])


class TriggerTaskTests(ExampleTestCase):
    def form_token(self) -> str:
        response = self.client.get("/trigger/")
        self.assertEqual(response.status_code, 200)
        return TOKEN_FIELD.search(response.content.decode()).group(1)

    def post(self, token: str, **data: str):
        values = {
            "task": "send-email",
            "payload": '{"to": "ada@example.com"}',
            "tags": "",
            "delay": "",
            "form_token": token,
            **data,
        }
        return self.client.post("/trigger/", values, follow=True)

    def test_each_rendered_form_has_its_own_token(self):
        first, second = self.form_token(), self.form_token()
        self.assertNotEqual(first, second)
        uuid.UUID(first)
        self.assertEqual(self.api_calls(), [])

    def test_trigger_sends_an_idempotency_key_from_the_form_and_the_user(self):
        token = self.form_token()
        response = self.post(token, tags="welcome, beta", delay="10m")
        run_id = response.redirect_chain[-1][0].split("/")[-2]
        self.assertContains(response, f"Triggered run {run_id}.")
        trigger = self.journal.entries[0]
        self.assertEqual(trigger.path, "/api/v1/tasks/send-email/trigger")
        key = f"example-trigger:{self.user.pk}:{token}"
        options = trigger.body["options"]
        self.assertEqual(options["idempotencyKey"], hashlib.sha256(key.encode()).hexdigest())
        self.assertEqual(options["idempotencyKeyOptions"], {"key": key, "scope": "run"})
        self.assertEqual(options["tags"], ["welcome", "beta"])
        self.assertEqual(options["delay"], "10m")
        self.assertEqual(trigger.body["payload"], {"to": "ada@example.com"})

    def test_double_submit_returns_the_same_run(self):
        token = self.form_token()
        first = self.post(token)
        second = self.post(token)
        self.assertEqual(first.redirect_chain[-1][0], second.redirect_chain[-1][0])
        run_id = second.redirect_chain[-1][0].split("/")[-2]
        self.assertContains(second, "This form had already been submitted")
        self.assertContains(second, run_id)
        self.assertEqual(self.journal.count(method="POST"), 2)

    def test_another_form_or_another_user_starts_another_run(self):
        token = self.form_token()
        first = self.post(token).redirect_chain[-1][0]
        self.assertNotEqual(self.post(self.form_token()).redirect_chain[-1][0], first)
        other = User.objects.create_user("bob", is_staff=True)
        self.client.force_login(other)
        self.assertNotEqual(self.post(token).redirect_chain[-1][0], first)

    def test_retry_after_a_lost_answer_does_not_start_a_second_run(self):
        # Trigger.dev starts the run but every answer is lost: the page shows the error and
        # keeps the form's token, so sending it again returns that run.
        path = "/api/v1/tasks/send-email/trigger"
        self.emulator.faults.fail_next(5, 503, path=path, after_processing=True)
        token = self.form_token()
        failed = self.post(token, tags="lost-answer")
        self.assertEqual(failed.status_code, 502)
        self.assertContains(failed, "server error (HTTP 503)", status_code=502)
        self.assertEqual(TOKEN_FIELD.search(failed.content.decode()).group(1), token)

        retried = self.post(token, tags="lost-answer")
        self.assertContains(retried, "This form had already been submitted")
        self.assertEqual(len(self.api_runs(tag=["lost-answer"])), 1)

    def test_bad_input_is_refused_before_any_request(self):
        token = self.form_token()
        cases = {
            "payload": ({"payload": "{not json"}, "Enter a valid JSON."),
            "task": ({"task": "../envvars"}, "A task identifier is made of"),
            "tags": ({"tags": ",".join(f"t{i}" for i in range(11))}, "at most 10 tags"),
            "delay": ({"delay": "soon"}, "Write a delay as a number and a unit"),
            "token": ({"form_token": "forged"}, "Enter a valid UUID."),
        }
        for name, (data, message) in cases.items():
            with self.subTest(name):
                response = self.post(token, **data)
                self.assertContains(response, message, status_code=400)
        self.assertEqual(self.api_calls(), [])

    def test_login_and_csrf_required(self):
        self.client.logout()
        self.assertEqual(self.client.get("/trigger/").status_code, 302)
        self.client.force_login(self.user)
        self.client.handler.enforce_csrf_checks = True
        response = self.client.post(
            "/trigger/", {"task": "send-email", "form_token": str(uuid.uuid4())}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.api_calls(), [])


class OverviewAsyncTests(ExampleTestCase):
    """The async view, through Django's AsyncClient."""

    async def test_login_required(self):
        response = await self.async_client.get("/overview/")
        self.assertRedirects(
            response, "/admin/login/?next=/overview/", fetch_redirect_response=False
        )
        self.assertEqual(self.api_calls(), [])

    async def login(self) -> None:
        aforce_login = getattr(self.async_client, "aforce_login", None)  # Django >= 5.0
        if aforce_login is not None:
            await aforce_login(self.user)
        else:
            await sync_to_async(self.async_client.force_login)(self.user)

    async def test_latest_runs_and_failures_of_every_client(self):
        await self.login()
        response = await self.async_client.get("/overview/")
        self.assertEqual(response.status_code, 200)
        content = response.content.decode()
        self.assertIn("Client “default”", content)
        self.assertIn("Client “prod”", content)
        calls = sorted(
            (entry.credential[:8], tuple(entry.query.get("filter[status]", [])))
            for entry in self.journal.entries
        )
        failed = ("FAILED,CRASHED,SYSTEM_FAILURE,TIMED_OUT",)
        self.assertEqual(
            calls, [("tr_dev_…", ()), ("tr_dev_…", failed), ("tr_prod_", ()), ("tr_prod_", failed)]
        )
        self.assertTrue(all(entry.path == RUNS_LIST for entry in self.journal.entries))
        self.assertGreaterEqual(len(self.run_ids(content)), 5)

    async def test_one_failing_client_does_not_break_the_page(self):
        await self.login()
        setting = self.trigger_setting()
        setting["prod"]["API_URL"] = self.closed_port_url()
        with self.settings(TRIGGER=setting):
            response = await self.async_client.get("/overview/")
        self.assertEqual(response.status_code, 200)
        content = response.content.decode()
        self.assertIn(
            "Trigger.dev is unreachable. Check the network and the API URL of the “prod” client",
            content,
        )
        self.assertEqual(self.journal.count(path=RUNS_LIST), 2)  # the default client's


class DemoBannerTests(ExampleTestCase):
    def test_banner_on_every_page_in_demo_mode(self):
        with self.settings(DEMO_EMULATOR_URL=self.emulator.base_url):
            for url in ("/", "/trigger/", "/admin/"):
                with self.subTest(url):
                    response = self.client.get(url, follow=True)
                    self.assertContains(response, "DEMO MODE")
                    self.assertContains(response, self.emulator.base_url)

    def test_no_banner_otherwise(self):
        self.assertNotContains(self.client.get("/"), "DEMO MODE")


class RunTokenTests(ExampleTestCase):
    """``/runs/<id>/token/``: a short-lived public access token for one run."""

    def test_a_token_that_reads_this_run_only(self):
        import base64
        import json

        from django_trigger import TriggerClient
        from django_trigger.exceptions import PermissionDeniedError

        run_id, other = [run.id for run in self.api_runs(limit=2)]
        self.journal.clear()
        response = self.client.get(f"/runs/{run_id}/token/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")
        body = response.json()
        self.assertEqual((body["runId"], body["apiUrl"]), (run_id, self.emulator.base_url))
        payload = body["token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.assertEqual(claims["scopes"], [f"read:runs:{run_id}"])
        self.assertEqual(claims["exp"] - claims["iat"], 600)
        # One retrieve (the permission check) and the claims, fetched once per client.
        self.assertEqual(
            [path for _, path in self.api_calls()],
            [f"/api/v3/runs/{run_id}", "/api/v1/auth/jwt/claims"],
        )
        self.client.get(f"/runs/{run_id}/token/")
        self.assertEqual(self.journal.count(path="/api/v1/auth/jwt/claims"), 1)

        browser = TriggerClient(body["token"], base_url=body["apiUrl"])
        self.addCleanup(browser.close)
        self.assertEqual(browser.runs.retrieve(run_id).id, run_id)
        with self.assertRaises(PermissionDeniedError):
            browser.runs.retrieve(other)

    def test_no_token_without_permission_or_run(self):
        self.client.logout()
        self.assertEqual(self.client.get("/runs/run_abc/token/").status_code, 401)
        self.assertEqual(self.api_calls(), [])
        self.client.force_login(self.user)
        missing = self.client.get("/runs/run_doesnotexist/token/")
        self.assertEqual(missing.status_code, 404)
        self.assertNotIn("token", missing.json())
        self.assertEqual(self.journal.count(path="/api/v1/auth/jwt/claims"), 0)
        self.assertEqual(self.client.post("/runs/run_abc/token/").status_code, 405)
