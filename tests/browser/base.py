"""What the real-browser tests share: headless Chromium (Debian's package) driven by
Playwright's Python API against Django's live server and the emulator.

Tagged ``browser``. It runs by default; without Chromium (or Playwright) it fails and says
what to install. Set ``DJANGO_TRIGGER_SKIP_BROWSER=1`` to skip it explicitly, or run
``python runtests.py --exclude-tag browser``. ``DJANGO_TRIGGER_CHROMIUM`` points at another
Chromium binary.

Playwright's sync API keeps an asyncio loop in the thread that started it, where Django then
refuses database work; so the browser lives in one worker thread of its own and the test
hands it the scenario (``in_browser``).
"""

from __future__ import annotations

import os
import shutil
import unittest
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import tag

from django_trigger.testing import EmulatorTestMixin

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Offline like the rest of the suite (tests/netguard.py cannot see another process): every
    # request but loopback's (which Chromium never proxies) goes to a proxy that is not there.
    "--proxy-server=http://127.0.0.1:9",
]
INSTALL_HINT = (
    "Install Debian's chromium (apt-get install -y chromium) and the dev extra "
    "(pip install -e '.[dev]', which brings playwright), point "
    "DJANGO_TRIGGER_CHROMIUM at a Chromium binary, or set "
    "DJANGO_TRIGGER_SKIP_BROWSER=1 to skip the browser tests."
)


def chromium_path() -> str:
    configured = os.environ.get("DJANGO_TRIGGER_CHROMIUM")
    candidates = (
        [configured]
        if configured
        else [shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"]
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"No Chromium found for the browser tests. {INSTALL_HINT}")


@tag("browser")
class BrowserTestCase(EmulatorTestMixin, StaticLiveServerTestCase):
    """One headless Chromium per class (``cls.browser``), in its own thread."""

    @classmethod
    def setUpClass(cls) -> None:
        if os.environ.get("DJANGO_TRIGGER_SKIP_BROWSER") == "1":
            raise unittest.SkipTest("DJANGO_TRIGGER_SKIP_BROWSER=1")
        executable = chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as err:
            raise RuntimeError(f"Playwright is not installed. {INSTALL_HINT}") from err
        super().setUpClass()
        cls.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        cls.addClassCleanup(cls.worker.shutdown)

        def start() -> Any:
            cls.playwright = sync_playwright().start()
            return cls.playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)

        def stop() -> None:
            cls.browser.close()
            cls.playwright.stop()

        cls.browser = cls.worker.submit(start).result(timeout=120)
        cls.addClassCleanup(lambda: cls.worker.submit(stop).result(timeout=60))

    def in_browser(self, scenario: Callable[[], None]) -> None:
        """Run ``scenario`` in the browser's thread (its exceptions come back here)."""
        self.worker.submit(scenario).result(timeout=300)
