"""Sphinx configuration of django-trigger's documentation (``nox -s docs`` or
``python -m sphinx -W --keep-going -b html docs docs/_build/html``; the ``docs`` extra).

Pages are Markdown (MyST); the API reference is generated from the docstrings (autodoc).
Warnings are errors in CI, which includes every broken cross-reference and every link to a
heading anchor that does not exist (``myst_heading_anchors``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "docs")]

# autodoc imports the Django glue (settings, checks, admin): a minimal configured project.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_settings")
import django  # noqa: E402

django.setup()

import django_trigger  # noqa: E402

project = "django-trigger"
author = "django-trigger contributors"
copyright = "django-trigger contributors"
release = version = django_trigger.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "screenshots"]

# Every heading up to ### gets a GitHub-style anchor, so `page.md#some-heading` links work
# (and are checked: a missing anchor is a warning, so an error in CI).
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]
suppress_warnings: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "both"
# Type hints name many internal aliases that have no page; they are shown as text, not
# checked as cross-references (the prose references are).
nitpicky = False

html_theme = "furo"
html_title = f"django-trigger {release}"
html_static_path: list[str] = []
