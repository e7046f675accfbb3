"""pytest runs the same suite as runtests.py: settings and paths come from pyproject.toml
(pytest-django), the same warnings are errors, the garbage collector is tuned the same way, and
Django test tags (``@tag("browser")``) are pytest markers too (``pytest -m "not browser"``)."""

from __future__ import annotations

import pytest

from runtests import error_warnings, tune_gc


def pytest_configure(config: pytest.Config) -> None:
    for category, module in error_warnings():
        config.addinivalue_line(
            "filterwarnings", f"error::{category.__module__}.{category.__qualname__}:{module}"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tags = set(getattr(getattr(item, "cls", None), "tags", ()))
        tags |= set(getattr(getattr(item, "obj", None), "tags", ()))
        for name in sorted(tags):  # unregistered ones fail (--strict-markers)
            item.add_marker(name)


def pytest_collection_finish(session: pytest.Session) -> None:
    tune_gc()
