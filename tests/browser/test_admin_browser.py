"""A real browser through the runs admin (tests/browser/base.py: headless Chromium driven by
Playwright against Django's live server and the emulator; how to run or skip it).
``DJANGO_TRIGGER_SCREENSHOTS=docs/screenshots`` saves the changelist and detail page
screenshots there."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from django.contrib.auth.models import User
from django.test import tag

from django_trigger import get_client

from .base import BrowserTestCase


@tag("browser")
class RunsAdminInABrowserTests(BrowserTestCase):
    emulator_options = {"seed": 11, "runs": 400}

    def setUp(self) -> None:
        super().setUp()
        User.objects.create_superuser("admin", "admin@example.com", "correct horse")
        # 60 executing runs among the newest: more than one page of them.
        newest = get_client().runs.list(limit=100).data
        self.executing = [run.id for run in newest[:60]]
        with self.emulator.state.lock:
            for run_id in self.executing:
                self.emulator.state.runs.set_status(run_id, "EXECUTING")
        self.shots = os.environ.get("DJANGO_TRIGGER_SCREENSHOTS")

        def open_page() -> None:
            # A 13-14" laptop: every page must fit it without sideways scrolling.
            self.context = self.browser.new_context(viewport={"width": 1280, "height": 800})
            self.page = self.context.new_page()
            self.page.set_default_timeout(15_000)

        self.in_browser(open_page)
        self.addCleanup(self.in_browser, lambda: self.context.close())

    def screenshot(self, name: str, full_page: bool = False) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(self.shots) / name), full_page=full_page)

    def test_filter_page_open_and_cancel_a_run(self):
        self.in_browser(self.filter_page_open_and_cancel)
        with self.emulator.state.lock:
            cancelled = [
                run.friendly_id
                for run in self.emulator.state.runs
                if run.status == "CANCELED" and run.friendly_id in self.executing
            ]
        self.assertEqual(len(cancelled), 1)

    def filter_page_open_and_cancel(self) -> None:
        page = self.page
        page.goto(f"{self.live_server_url}/admin/login/?next=/admin/django_trigger/run/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "correct horse")
        page.click("input[type=submit]")
        page.wait_for_selector("#result_list")
        self.assertIn("Showing runs created in the last 7 days", page.content())
        # Fold the admin's navigation sidebar so the screenshots show every column.
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")

        # Filter by status.
        page.locator("#changelist-filter").get_by_role("link", name="Executing", exact=True).click()
        page.wait_for_url("**status=EXECUTING**")
        badges = page.locator("#result_list .trigger-status").all_inner_texts()
        self.assertEqual(len(badges), 50)
        self.assertEqual(set(badges), {"Executing"})
        first_page = page.locator("#result_list th.field-run_id a").all_inner_texts()

        # The next (older) page keeps the filter.
        page.get_by_role("link", name="Older ›").click()
        page.wait_for_url("**p=a.**")
        self.assertIn("status=EXECUTING", page.url)
        second_page = page.locator("#result_list th.field-run_id a").all_inner_texts()
        self.assertEqual(len(second_page), 10)
        self.assertFalse(set(first_page) & set(second_page))
        self.assertEqual(set(first_page) | set(second_page), set(self.executing))
        self.assertEqual(page.locator(".trigger-newer").count(), 1)

        # Open a run and cancel it.
        run_id = second_page[0]
        page.locator("#result_list th.field-run_id a", has_text=run_id).click()
        page.wait_for_selector(".field-payload_display")
        self.assertIn(run_id, page.locator("h2").first.inner_text())
        self.screenshot("run-detail.png", full_page=True)
        page.locator(".object-tools").get_by_role("link", name="Cancel", exact=True).click()
        page.wait_for_selector("text=Cancel this run?")
        page.get_by_role("button", name="Yes, I’m sure").click()
        page.wait_for_selector(".messagelist")
        self.assertIn(f"Cancelled run: {run_id}.", page.locator(".messagelist").inner_text())
        self.assertEqual(
            page.locator(".field-status_badge .trigger-status").inner_text(), "Canceled"
        )

    def log_in(self, next_url: str) -> None:
        page = self.page
        page.goto(f"{self.live_server_url}/admin/login/?next={next_url}")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "correct horse")
        page.click("input[type=submit]")

    def overflow(self, selector: str) -> int:
        """How many pixels ``selector`` is wider than its box (scrolls sideways if > 0)."""
        return int(
            self.page.evaluate(
                "s => { const e = document.querySelector(s); "
                "return e.scrollWidth - e.clientWidth; }",
                selector,
            )
        )

    def test_lists_fit_a_1280_px_laptop(self):
        schedules = get_client().schedules
        for n, (cron, zone) in enumerate(
            [
                ("*/5 9-17 * * 1-5", "America/Los_Angeles"),
                ("0 3 * * *", "UTC"),
                ("15 10,14,18 1-7 * 1", "Europe/Berlin"),
            ]
        ):
            schedules.create(
                task="nightly-cleanup",
                cron=cron,
                timezone=zone,
                deduplication_key=f"fit-{n}",
                external_id=f"customer_{n:08d}",
            )

        def check() -> None:
            page = self.page
            self.log_in("/admin/django_trigger/run/")
            page.wait_for_selector("#result_list")
            # The navigation sidebar open (Django's default): the five main columns fit.
            self.assertTrue(page.locator("#nav-sidebar").is_visible())
            self.assertLessEqual(self.overflow("#changelist .results"), 0)
            self.assertLessEqual(self.overflow("html"), 0)
            self.assertFalse(page.locator("#result_list th.column-cost").is_visible())
            self.assertTrue(page.locator("#result_list th.column-created").is_visible())
            # Folded (its toggle is on every page): cost and tags come back, still no scrolling.
            page.click("#toggle-nav-sidebar")
            self.assertFalse(page.locator("#nav-sidebar").is_visible())
            self.assertTrue(page.locator("#result_list th.column-cost").is_visible())
            self.assertTrue(page.locator("#result_list th.column-tag_list").is_visible())
            self.assertLessEqual(self.overflow("#changelist .results"), 0)
            self.assertLessEqual(self.overflow("html"), 0)
            self.screenshot("runs-changelist.png")
            # A wider screen shows every column with the sidebar open.
            page.set_viewport_size({"width": 1600, "height": 800})
            page.click("#toggle-nav-sidebar")
            page.reload()
            page.wait_for_selector("#result_list")
            self.assertTrue(page.locator("#nav-sidebar").is_visible())
            self.assertTrue(page.locator("#result_list th.column-tag_list").is_visible())
            self.assertLessEqual(self.overflow("#changelist .results"), 0)
            page.set_viewport_size({"width": 1280, "height": 800})
            # Long tag lists are cut with an ellipsis; the full list is in the title.
            tags = page.locator("#result_list td.field-tag_list .trigger-tags").first
            self.assertTrue(tags.get_attribute("title"))
            page.goto(f"{self.live_server_url}/admin/django_trigger/schedule/")
            page.wait_for_selector("#result_list")
            self.assertLessEqual(self.overflow("#changelist .results"), 0)
            heights = page.locator("#result_list td.field-description_short").evaluate_all(
                "cells => cells.map(c => c.getBoundingClientRect().height)"
            )
            line = page.locator("#result_list td.field-task").first.evaluate(
                "c => c.getBoundingClientRect().height"
            )
            self.assertTrue(heights)
            self.assertLessEqual(max(heights), line + 1)  # one line, like the other cells
            self.screenshot("schedules-changelist.png")

        self.in_browser(check)

    def test_overview(self):
        with self.emulator.state.lock:  # most of them finished, a few failed
            for n, run_id in enumerate(self.executing[:50]):
                if n % 6 == 0:
                    self.emulator.state.runs.set_status(run_id, "COMPLETED_WITH_ERRORS")
                else:
                    self.emulator.state.runs.complete(run_id, {"ok": True})

        def look() -> None:
            page = self.page
            self.log_in("/admin/django_trigger/overview/")
            page.wait_for_selector("svg.trigger-svg")
            self.assertGreaterEqual(page.locator("svg.trigger-svg").count(), 2)
            self.assertGreater(page.locator("svg.trigger-svg rect").count(), 0)
            self.assertLessEqual(self.overflow("html"), 0)
            self.screenshot("overview.png", full_page=True)
            # The numbers behind the chart are one click away.
            page.get_by_text("Table", exact=True).first.click()
            self.assertTrue(page.locator("#runs-by-status").is_visible())
            page.get_by_role("link", name="Last 7 days, per day").click()
            page.wait_for_url("**period=7d**")
            self.assertEqual(page.locator("#runs-by-status tbody tr").count(), 7)

        self.in_browser(look)

    def test_reveal_is_a_styled_button_and_the_value_readable(self):
        def reveal() -> None:
            page = self.page
            self.log_in("/admin/django_trigger/envvar/REGION/change/")
            button = page.locator("button.trigger-reveal")
            style = button.evaluate(
                "b => { const s = getComputedStyle(b); return [s.borderRadius, s.textTransform]; }"
            )
            self.assertEqual(style, ["15px", "uppercase"])  # like the other object tools
            button.click()
            value = page.locator(".trigger-revealed")
            size, colour, text_colour = value.evaluate(
                "e => { const s = getComputedStyle(e); return [parseFloat(s.fontSize), s.color, "
                "getComputedStyle(document.body).color]; }"
            )
            self.assertGreaterEqual(size, 16)
            self.assertEqual(colour, text_colour)  # the page's text colour, not a faint grey
            self.screenshot("envvar-reveal.png")

        self.in_browser(reveal)

    # Polled every 0.3 s here (3 s in use): the page's behaviour does not depend on the interval.
    @mock.patch("django_trigger.admin.runs.STATUS_REFRESH_MS", 300)
    def test_an_unfinished_run_refreshes_its_status(self):
        run_id = self.executing[0]

        def follow() -> None:
            page = self.page
            page.goto(
                f"{self.live_server_url}/admin/login/?next=/admin/django_trigger/run/"
                f"{run_id}/change/"
            )
            page.fill("#id_username", "admin")
            page.fill("#id_password", "correct horse")
            page.click("input[type=submit]")
            page.wait_for_selector(".field-status_badge .trigger-status")
            self.assertEqual(
                page.locator(".field-status_badge .trigger-status").inner_text(), "Executing"
            )
            url = page.url
            with self.emulator.state.lock:
                self.emulator.state.runs.complete(run_id, {"ok": True})
            page.wait_for_selector(".trigger-run-finished")  # no reload: polled in place
            self.assertEqual(page.url, url)
            self.assertEqual(
                page.locator(".field-status_badge .trigger-status").inner_text(), "Completed"
            )
            polls = self.emulator.journal.count(path=f"/api/v3/runs/{run_id}")
            page.wait_for_timeout(1500)  # five intervals: it stopped asking
            self.assertEqual(self.emulator.journal.count(path=f"/api/v3/runs/{run_id}"), polls)

        self.in_browser(follow)

    def test_a_newcomers_first_hour(self):
        """The path a new user takes (issue #13), as one journey with the sidebar as Django
        leaves it: the overview, the runs list, a search for a run that does not exist, a
        filter, a run's page and its actions by state, a new schedule switched off, and an
        environment variable revealed. Every step must be possible from what the pages say."""
        run_id = self.executing[0]

        def journey() -> None:
            page = self.page
            self.log_in("/admin/")
            page.get_by_role("link", name="Overview").first.click()
            page.wait_for_selector("svg.trigger-svg")
            self.assertLessEqual(self.overflow("html"), 0)

            page.locator("#nav-sidebar").get_by_role("link", name="Runs").click()
            page.wait_for_selector("#result_list")
            self.assertIn("Showing runs created in the last 7 days", page.content())
            self.assertLessEqual(self.overflow("#changelist .results"), 0)

            # A mistyped id keeps the list and says what happened.
            page.fill("#searchbar", "run_doesnotexist0000")
            page.press("#searchbar", "Enter")
            page.wait_for_selector(".messagelist")
            self.assertIn(
                "No run with the id run_doesnotexist0000", page.inner_text(".messagelist")
            )
            self.assertGreater(page.locator("#result_list tbody tr").count(), 0)

            # The filter shows every run listed with that status; the id opens the run.
            page.fill("#searchbar", "")
            page.locator("#changelist-filter").get_by_role(
                "link", name="Executing", exact=True
            ).click()
            page.wait_for_url("**status=EXECUTING**")
            badges = page.locator("#result_list .trigger-status").all_inner_texts()
            self.assertEqual(set(badges), {"Executing"})
            page.locator("#result_list th.field-run_id a", has_text=run_id).click()
            page.wait_for_selector(".field-payload_display")
            content = page.content()
            self.assertNotIn("$$streams", content)  # internal metadata stays hidden
            self.assertNotIn("cloud.trigger.dev", content)  # the emulator has no cloud dashboard
            self.assertLessEqual(self.overflow("html"), 0)

            # Actions follow the run's state: once cancelled, Cancel is no longer offered.
            tools = page.locator(".object-tools")
            tools.get_by_role("link", name="Cancel", exact=True).click()
            page.get_by_role("button", name="Yes, I’m sure").click()
            page.wait_for_selector(".messagelist")
            self.assertIn(f"Cancelled run: {run_id}.", page.inner_text(".messagelist"))
            self.assertEqual(tools.get_by_role("link", name="Cancel", exact=True).count(), 0)

            # A schedule: created from the form, its state on its page, switched off there.
            page.locator("#nav-sidebar .model-schedule a.addlink").click()
            page.wait_for_selector("#id_cron")
            page.fill("#id_task", "nightly-cleanup")
            page.fill("#id_cron", "0 9 * * 1-5 *")  # six fields: refused before sending
            page.select_option("#id_timezone", "Europe/London")
            page.fill("#id_deduplication_key", "newcomer")
            page.click("input[name=_continue]")
            page.wait_for_selector(".errorlist")
            page.fill("#id_cron", "0 9 * * 1-5")
            page.click("input[name=_continue]")
            page.wait_for_selector(".trigger-schedule-state")
            self.assertIn("Active", page.inner_text(".trigger-schedule-state"))
            page.locator("button.trigger-schedule-toggle").click()
            page.wait_for_selector(".messagelist")
            self.assertIn("Inactive", page.inner_text(".trigger-schedule-state"))
            self.assertLessEqual(self.overflow("html"), 0)

            # An environment variable: masked in the list, revealed on request.
            page.locator("#nav-sidebar").get_by_role("link", name="Environment variables").click()
            page.wait_for_selector("#result_list")
            self.assertLessEqual(self.overflow("#changelist .results"), 0)
            page.locator("#result_list th a").first.click()
            page.locator("button.trigger-reveal").click()
            self.assertTrue(page.locator(".trigger-revealed").inner_text())

        self.in_browser(journey)
