"""The supported-versions matrix, as Django apps run theirs (django-anymail, dj-stripe).

    nox                          # lint + every Django series on every Python it supports
    nox -s "tests(3.12-django6.1)"
    nox -s lint
    nox -l                       # list the sessions

Each ``tests`` session installs the package with its ``dev`` extra and one Django series into
a fresh virtualenv, then runs the README's test command (``python runtests.py``). A Python
that is not on PATH is skipped by nox (``--error-on-missing-interpreters`` makes that an
error). ``django_main`` tries Django's development branch and never fails the run: it needs
the network to reach GitHub, which a machine limited to package registries does not have.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = False

# Django series -> the Pythons it supports among ours (Django's own support table).
MATRIX: dict[str, tuple[str, ...]] = {
    "4.2": ("3.10", "3.11", "3.12"),
    "5.2": ("3.10", "3.11", "3.12", "3.13"),
    "6.0": ("3.12", "3.13"),
    "6.1": ("3.12", "3.13"),
}
# Each series on its oldest and newest Python first, then the Pythons between: a run cut short
# (CI's time budget) has still covered every series at both ends.
CELLS = [(pythons[i], django) for django, pythons in MATRIX.items() for i in (0, -1)] + [
    (python, django) for django, pythons in MATRIX.items() for python in pythons[1:-1]
]
DJANGO_MAIN = "https://github.com/django/django/archive/refs/heads/main.tar.gz"


def _install(session: nox.Session, django: str) -> None:
    session.install("-e", ".[dev]", django)


@nox.session
@nox.parametrize(("python", "django"), CELLS, ids=[f"{p}-django{d}" for p, d in CELLS])
def tests(session: nox.Session, django: str) -> None:
    """The test suite on one Django series (``django~=X.Y.0``) and one Python."""
    _install(session, f"django~={django}.0")
    session.run("python", "-m", "django", "--version")
    session.run("python", "runtests.py", *session.posargs)


@nox.session(python=["3.12", "3.13"])
def django_main(session: nox.Session) -> None:
    """Django's main branch, allowed to fail (an early warning, not a gate)."""
    try:
        _install(session, DJANGO_MAIN)
    except nox.command.CommandFailed:
        session.skip("Django's main branch could not be installed here (no network to GitHub)")
    session.run("python", "runtests.py", *session.posargs, success_codes=[0, 1])


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy and the layering contracts (import-linter), in their own virtualenv."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")
