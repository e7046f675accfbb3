"""``manage.py trigger_pull_envvars``: an environment's variables written as a ``.env`` file, the
reverse of ``trigger_sync_envvars``.

Examples::

    python manage.py trigger_pull_envvars                      # the client's environment → .env
    python manage.py trigger_pull_envvars -e prod --output .env.prod --force
    python manage.py trigger_pull_envvars --output -           # the file on stdout (explicit)

Each value is written so that the project's own dotenv reader (``envsync.read_dotenv``, what
``trigger_sync_envvars --env-file`` uses) reads back exactly the same string: the file is read
back after writing and compared. Secret values cannot be read back from Trigger.dev: they are
written as commented placeholders (``# NAME=``) and listed. A value with a line break cannot be
written in a one-line dotenv file: it is a commented placeholder too, and said so. Values are
never printed unless ``--show-values`` or ``--output -`` asks for them.

Exit codes: 0 written, 1 error (nothing written), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_trigger import envsync
from django_trigger.exceptions import TriggerError
from django_trigger.management._common import (
    TranslatedCommand,
    add_client_arguments,
    client_for,
    request_logging,
)
from django_trigger.types import EnvVar

MASK = "********"


def dotenv_line(name: str, value: str) -> str | None:
    """``NAME='value'`` as django-environ reads it back (``None``: a line break, which no
    dotenv line can hold for that reader). Single quotes are literal there, with or without
    ``parse_comments``, whatever the value holds (``'``, ``#``, ``$``, ``\\``) — except a value
    that itself starts and ends with ``"``, which the reader unquotes a second time: that one
    goes double-quoted (``\\`` and ``"`` escaped) inside the single quotes."""
    if "\n" in value or "\r" in value:
        return None
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f"{name}='\"{escaped}\"'"
    return f"{name}='{value}'"


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Write an environment's variables from Trigger.dev as a .env file (secret values "
        "cannot be read back: they become commented placeholders)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_client_arguments(parser)
        parser.add_argument("--project-ref", metavar="REF", help=_("Project ref (proj_…)."))
        parser.add_argument("--branch", help=_("A preview (or dev) branch name."))
        parser.add_argument(
            "--output",
            "-o",
            default=".env",
            metavar="FILE",
            help=_(
                "The file to write (default: %(default)s); '-' writes it to "
                "stdout, values included."
            ),
        )
        parser.add_argument("--force", action="store_true", help=_("Replace FILE if it exists."))
        parser.add_argument(
            "--show-values",
            action="store_true",
            help=_("Also list the values on stdout (masked by default)."),
        )
        parser.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help=_(
                "json: a summary as one JSON document on stdout (names, never "
                "values unless --show-values)."
            ),
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_(
                "Accepted for symmetry (the command never asks; it refuses an "
                "existing file without --force)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        as_json = options["format"] == "json"
        to_stdout = options["output"] == "-"
        if to_stdout and as_json:
            raise CommandError(_("--output - and --format json both use stdout: choose one."))
        path = None if to_stdout else Path(options["output"])
        if path is not None and path.exists() and not options["force"]:
            raise CommandError(
                _("%(path)s exists: pass --force to replace it (nothing was sent).")
                % {"path": path}
            )
        client = client_for(options["client"])
        log_stream = self.stderr if (as_json or to_stdout) else self.stdout
        try:
            with request_logging(self.verbosity, log_stream):
                try:
                    targets = envsync.resolve_targets(
                        client,
                        project_ref=options["project_ref"],
                        environments=[options["environment"]] if options["environment"] else [],
                        branch=options["branch"],
                    )
                except envsync.TargetError as err:
                    raise CommandError(
                        _("Nothing was sent:")
                        + "\n"
                        + "\n".join(f"  - {problem}" for problem in err.problems)
                    ) from err
                target = targets[0]
                try:
                    with envsync.target_client(client, target) as target_client:
                        variables = target_client.envvars.list(
                            project_ref=target.project_ref,
                            environment=target.environment,
                            branch=target.branch,
                        )
                except TriggerError as err:
                    raise CommandError(
                        _("Could not list the variables of %(target)s: %(error)s")
                        % {"target": target, "error": err}
                    ) from err
        finally:
            client.close()

        content, secrets, unwritable = render(variables, str(target))
        written = [v for v in variables if v.name not in secrets and v.name not in unwritable]
        if path is None:
            self.stdout.write(content, ending="")
        else:
            write_checked(path, content, {v.name: v.value for v in written})
        self.report(
            path, target, variables, written, secrets, unwritable, as_json, options["show_values"]
        )

    def report(
        self,
        path: Path | None,
        target: envsync.Target,
        variables: list[EnvVar],
        written: list[EnvVar],
        secrets: list[str],
        unwritable: list[str],
        as_json: bool,
        show_values: bool,
    ) -> None:
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": True,
                        "exit_code": 0,
                        "target": target.to_dict(),
                        "output": str(path),
                        "written": [v.name for v in written],
                        "secrets": secrets,
                        "unwritable": unwritable,
                        "values_shown": show_values,
                        **({"values": {v.name: v.value for v in written}} if show_values else {}),
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        # With --output - stdout is the file: the report goes to stderr.
        stream = self.stderr if path is None else self.stdout
        if self.verbosity >= 1:
            where = _("stdout") if path is None else str(path)
            stream.write(
                ngettext(
                    "%(count)d variable of %(target)s written to %(path)s.",
                    "%(count)d variables of %(target)s written to %(path)s.",
                    len(written),
                )
                % {"count": len(written), "target": target, "path": where},
                self.style.SUCCESS,
            )
            if secrets:
                stream.write(
                    ngettext(
                        "%(count)d secret cannot be read back from Trigger.dev: written as a "
                        "commented placeholder to fill in: %(names)s",
                        "%(count)d secrets cannot be read back from Trigger.dev: written as "
                        "commented placeholders to fill in: %(names)s",
                        len(secrets),
                    )
                    % {"count": len(secrets), "names": ", ".join(secrets)},
                    self.style.WARNING,
                )
            if unwritable:
                stream.write(
                    ngettext(
                        "%(count)d value holds a line break, which a .env line cannot hold for "
                        "the dotenv reader: commented out: %(names)s",
                        "%(count)d values hold a line break, which a .env line cannot hold for "
                        "the dotenv reader: commented out: %(names)s",
                        len(unwritable),
                    )
                    % {"count": len(unwritable), "names": ", ".join(unwritable)},
                    self.style.WARNING,
                )
        if show_values and path is not None:
            for var in written:
                self.stdout.write(f"  {var.name}={json.dumps(var.value, ensure_ascii=False)}")
        elif self.verbosity >= 2 and path is not None:
            for var in written:
                self.stdout.write(f"  {var.name}={MASK}")


def render(variables: list[EnvVar], target: str) -> tuple[str, list[str], list[str]]:
    """The file's text, the secret names and the names whose value cannot be written."""
    # The comments are for people (translated); the reader skips them.
    lines = [
        "# "
        + _("Trigger.dev environment variables of %(target)s (trigger_pull_envvars).")
        % {"target": target}
    ]
    secrets: list[str] = []
    unwritable: list[str] = []
    for var in sorted(variables, key=lambda v: v.name):
        if var.is_secret:
            secrets.append(var.name)
            lines.append(
                f"# {var.name}=  "
                + _("(secret in Trigger.dev: its value cannot be read back; fill it in)")
            )
            continue
        line = dotenv_line(var.name, var.value)
        if line is None:
            unwritable.append(var.name)
            lines.append(
                f"# {var.name}=  "
                + _("(its value holds a line break, which a .env line cannot hold)")
            )
            continue
        lines.append(line)
    return "\n".join(lines) + "\n", secrets, unwritable


def write_checked(path: Path, content: str, expected: dict[str, str]) -> None:
    """Write ``content`` to ``path`` atomically, after checking that the dotenv reader reads
    back exactly ``expected`` from it; nothing is written otherwise."""
    directory = path.parent if str(path.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile(  # renamed or removed below
        "w",
        encoding="utf-8",
        newline="\n",
        dir=directory,
        prefix=f".{path.name}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            handle.write(content)
        definitions, problems, _warnings = envsync.read_dotenv(handle.name)
        read_back = {d.name: d.value for d in definitions}
        if problems or read_back != expected:
            different = sorted(
                name
                for name in set(read_back) | set(expected)
                if read_back.get(name) != expected.get(name)
            )
            raise CommandError(
                _("The file would not read back as pulled (%(names)s): nothing was written.")
                % {"names": ", ".join(different) or problems}
            )
        os.replace(handle.name, path)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
