"""The example's chat page in a real browser (tests/browser/base.py): a conversation started,
two messages sent, each answer of the emulator's echo agent streamed in by ``EventSource``
through ``stream_session``, markup in a message shown as text, and the history after a
reload. Waits are Playwright's (on the page's state), never fixed sleeps."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings, tag

from ..example.base import _templates
from .base import BrowserTestCase


@tag("browser")
@override_settings(
    INSTALLED_APPS=["dashboard", *settings.INSTALLED_APPS],
    TEMPLATES=_templates(),
    ROOT_URLCONF="example_site.urls",
    LOGIN_URL="admin:login",
    DEMO_EMULATOR_URL="",
)
class ChatInABrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        user = User.objects.create_user("alice", "alice@example.com", "pw", is_staff=True)
        self.client.force_login(user)
        cookie = self.client.cookies[settings.SESSION_COOKIE_NAME].value

        def open_page() -> None:
            self.context = self.browser.new_context(viewport={"width": 1280, "height": 800})
            self.context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": cookie,
                        "url": self.live_server_url,
                    }
                ]
            )
            self.page = self.context.new_page()
            self.page.set_default_timeout(15_000)

        self.in_browser(open_page)
        self.addCleanup(self.in_browser, lambda: self.context.close())

    def test_the_browser_reaches_loopback_only(self):
        # CHROMIUM_ARGS' dead proxy: the suite's network guard cannot see Chromium's process.
        def scenario() -> None:
            from playwright.sync_api import Error

            # A page each: a failed navigation's error page could interrupt the next one.
            for url in ("http://203.0.113.1/", "http://example.com/"):
                page = self.context.new_page()
                with self.assertRaisesRegex(Error, "ERR_PROXY_CONNECTION_FAILED"):
                    page.goto(url)
                page.close()
            self.assertEqual(self.page.goto(self.live_server_url + "/admin/").status, 200)

        self.in_browser(scenario)

    def test_a_conversation_streams_each_answer_in(self):
        def scenario() -> None:
            from playwright.sync_api import expect

            page = self.page
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{self.live_server_url}/chat/")
            page.get_by_role("button", name="Start a conversation").click()
            page.wait_for_url(f"{self.live_server_url}/chat/")

            page.get_by_role("textbox").fill("hello <b>big</b> world")
            page.get_by_role("button", name="Send").click()
            answers = page.locator("#chat-log .answer")
            expect(answers.nth(0)).to_have_text("hello <b>big</b> world")
            expect(page.get_by_role("button", name="Send")).to_be_enabled()  # turn complete
            self.assertEqual(page.locator("#chat-log b").count(), 0)  # text, never markup

            page.get_by_role("textbox").fill("and again")
            page.get_by_role("button", name="Send").click()
            expect(answers.nth(1)).to_have_text("and again")
            expect(page.get_by_role("button", name="Send")).to_be_enabled()

            page.reload()  # the history is rendered by the server
            expect(page.locator("#chat-log .message")).to_have_text(
                ["hello <b>big</b> world", "and again"]
            )
            expect(page.locator("#chat-log")).to_have_attribute("data-after", "6")
            self.assertEqual(errors, [])

        self.in_browser(scenario)
