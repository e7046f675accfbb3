"""The admin and the transport's limits: a short deadline per call, an API error said once,
and links only to http(s) URLs the API returns."""

from __future__ import annotations

import time

from django_trigger.clients import get_client

from .base import AdminTestCase


class AdminDeadlineTests(AdminTestCase):
    def test_a_stuck_answer_shows_the_error_page_within_admin_deadline(self):
        run_id = self.runs()[0].id
        self.emulator.faults.trickle_next(1, interval=0.3, path=f"/api/v3/runs/{run_id}")
        with self.settings(TRIGGER={"default": self.emulator.client_settings(ADMIN_DEADLINE=1.0)}):
            started = time.monotonic()
            response = self.client.get(self.url("run_change", run_id))
            elapsed = time.monotonic() - started
        self.assertLess(elapsed, 2.5)  # the client's own DEADLINE is 90 s
        self.assertContains(response, "Deadline of 1s reached after 1 attempt", status_code=503)


class ErrorShownOnceTests(AdminTestCase):
    def test_the_detail_error_page_says_it_once(self):
        with self.settings(
            TRIGGER={
                "default": {**self.emulator.client_settings(), "API_URL": "http://127.0.0.1:9"}
            }
        ):
            response = self.client.get(self.url("run_change", "run_abc123"))
        self.assertEqual(response.status_code, 503)
        html = response.content.decode()
        self.assertEqual(html.count("could not be reached"), 1, html)
        self.assertEqual(html.count("Connection refused by 127.0.0.1:9"), 1)


class ApiLinkTests(AdminTestCase):
    def run_page_with(self, **fields: str) -> str:
        run_id = self.runs()[0].id
        body = get_client().runs.with_raw_response.retrieve(run_id).json()
        body.update(fields)
        self.emulator.faults.respond_next(1, body=body, path=f"/api/v3/runs/{run_id}")
        response = self.client.get(self.url("run_change", run_id))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_javascript_urls_are_shown_as_text_not_links(self):
        for field in ("payloadPresignedUrl", "outputPresignedUrl"):
            for url in (
                "javascript:alert(1)",
                " JavaScript:alert(1)",
                "data:text/html,x",
                "//evil.example/x",
            ):
                with self.subTest(field=field, url=url):
                    html = self.run_page_with(**{field: url})
                    self.assertNotIn(f'href="{url.strip()}', html)
                    self.assertNotIn('href="javascript', html.lower())
                    self.assertIn("Not a web link, not opened:", html)

    def test_https_urls_are_links(self):
        url = "https://storage.example.com/payload.json?X-Amz-Signature=abc"
        html = self.run_page_with(payloadPresignedUrl=url)
        self.assertIn('href="https://storage.example.com/payload.json?X-Amz-Signature=abc"', html)
