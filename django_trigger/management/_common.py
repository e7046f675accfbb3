"""What the operator commands (``trigger_doctor``, ``trigger_runs``, ``trigger_pull_envvars``)
share with each other: the alias option, the client, -v 2 request logging and the JSON
document. Same conventions as ``trigger_sync_envvars``."""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from django_trigger.client import TriggerClient
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS
from django_trigger.exceptions import ConfigurationError

EXIT_OK = 0
EXIT_ERROR = 1


class TranslatedCommand(BaseCommand):
    """A command whose texts are translated. ``help_text``, the description, is a lazy
    translation (the class is defined before a language is chosen); ``help``, what argparse
    formats, is a ``str``: ``help_text`` in the language active when the parser is built. The
    options' help texts are translated then too (``gettext`` in ``add_arguments``)."""

    help_text: str | Promise = ""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        if self.help_text:
            self.help = str(self.help_text)
        return super().create_parser(prog_name, subcommand, **kwargs)


def add_client_arguments(parser: argparse.ArgumentParser, *, environment: bool = True) -> None:
    parser.add_argument(
        "--client",
        "--alias",
        default=DEFAULT_ALIAS,
        metavar="ALIAS",
        dest="client",
        help=_("The TRIGGER alias whose client to use (default: %(default)s)."),
    )
    if environment:
        parser.add_argument(
            "-e",
            "--environment",
            metavar="ENV",
            help=_(
                "dev, staging, prod or preview (needs a personal access token "
                "unless it is the secret key's own). Default: the client's."
            ),
        )


def client_for(alias: str, environment: str | None = None) -> TriggerClient:
    """The configured client of ``alias`` (for ``environment`` if given), or a CommandError
    saying why not (nothing was sent)."""
    try:
        client = get_client(alias)
        if environment is not None:
            client = client.with_options(environment=environment)
    except ConfigurationError as err:
        raise CommandError(_("Nothing was sent: %(error)s") % {"error": err}) from err
    return client


@contextlib.contextmanager
def request_logging(verbosity: int, stream: OutputWrapper) -> Iterator[None]:
    """With -v 2 or more, log each HTTP request (method, path, status; never a token or a
    value: the transport logs no headers or bodies)."""
    if verbosity < 2:
        yield
        return
    logger = logging.getLogger("django_trigger.http")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("  HTTP %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` (an OutputWrapper or a file) is an interactive terminal."""
    target = getattr(stream, "_out", stream)
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False
