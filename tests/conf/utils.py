"""Helpers for the settings tests: a scoped environment and a TRIGGER-less settings module."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from django.conf import settings
from django.test import SimpleTestCase, override_settings

from django_trigger.conf import trigger_settings

# Tokens of the right shapes (24 characters after the prefix, like the real ones).
DEV_KEY = "tr_dev_AbCdEfGhIjKlMnOpQrSt1234"
STG_KEY = "tr_stg_AbCdEfGhIjKlMnOpQrSt5678"
PROD_KEY = "tr_prod_AbCdEfGhIjKlMnOpQrSt9012"
PREVIEW_KEY = "tr_preview_AbCdEfGhIjKlMnOpQrSt3456"
PAT = "tr_pat_0123456789abcdef0123456789abcdef7890"
OAT = "tr_oat_0123456789abcdef0123456789abcdef4321"
PROJECT_REF = "proj_yubjwjsfkxnylobaqvqz"
ALL_TOKENS = (DEV_KEY, STG_KEY, PROD_KEY, PREVIEW_KEY, PAT, OAT)


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Run with only the given TRIGGER_* variables set (``None`` unsets a variable), then
    restore ``os.environ`` exactly. ``trigger_settings`` is reloaded on entry and exit."""
    saved = dict(os.environ)
    try:
        for name in [name for name in os.environ if name.startswith("TRIGGER_")]:
            del os.environ[name]
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        trigger_settings.reload()
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
        trigger_settings.reload()


@contextlib.contextmanager
def without_trigger_setting() -> Iterator[None]:
    """Run as if settings.py had no TRIGGER at all."""
    try:
        with override_settings():
            del settings.TRIGGER
            trigger_settings.reload()
            yield
    finally:
        trigger_settings.reload()


class ConfTestCase(SimpleTestCase):
    """Every test starts with no TRIGGER_* environment variables and fresh settings."""

    def setUp(self) -> None:
        super().setUp()
        stack = contextlib.ExitStack()
        stack.enter_context(environment())
        self.addCleanup(stack.close)
