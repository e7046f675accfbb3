"""System checks for the TRIGGER setting: every problem ``conf`` found, in one ``manage.py
check``. Offline: nothing is sent to the API (ids and meanings: docs/configuration.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from django_trigger.conf import Problem, trigger_settings

__all__ = ["check_settings"]

_MESSAGE_CLASSES = {checks.ERROR: checks.Error, checks.WARNING: checks.Warning}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``django_trigger.E0xx``/``W0xx`` for everything wrong with TRIGGER and its env fallbacks."""
    return [_message(problem) for problem in trigger_settings.problems]


def _message(problem: Problem) -> checks.CheckMessage:
    return _MESSAGE_CLASSES[problem.level](problem.message, hint=problem.hint, id=problem.id)
