"""``manage.py trigger_sync_envvars``: make Trigger.dev environments match your .env files and
settings, with a plan, a diff and no surprises (``terraform plan/apply`` for env vars).

Examples::

    # What would change in the configured environment? (lists only, writes nothing)
    python manage.py trigger_sync_envvars --env-file .env --dry-run

    # Push, two names as secrets, deleting remote names the file does not have (asks first)
    python manage.py trigger_sync_envvars --env-file .env.prod \\
        --secret DATABASE_URL --secret STRIPE_KEY --prune

    # Staging and prod in one run (a personal access token), shared file + per-env overrides
    python manage.py trigger_sync_envvars --client ops -e staging -e prod \\
        --env-file .env.shared --env-file .env.prod --allow-overrides --no-input

    # CI: exit 3 when the environment drifted from the files
    python manage.py trigger_sync_envvars --env-file .env.prod --check

    # Machines: the plan and the result as one JSON document on stdout
    python manage.py trigger_sync_envvars --env-file .env --format json --no-input

The logic lives in ``django_trigger.envsync`` (sources → plan → apply → verify); this module
parses options and asks for confirmation; ``django_trigger.management._sync_report`` prints.
Exit codes: 0 ok / already in sync, 1 error (bad input, API error, partial failure,
verification difference, cancelled), 2 wrong usage (argparse), 3 ``--check`` found changes to
make.

What people read is translated (gettext, in the active language: ``LANGUAGE_CODE``); what
machines read is not: the JSON document's keys and codes (``action``, ``reason``, ``source``,
skip reasons, difference problems) stay English, and so do the ``-v 2`` HTTP log lines.
Its prose (``errors``, ``warnings``, ``failed_step``) is the same text as the human report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import environ
from django.core.management.base import CommandError, DjangoHelpFormatter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_trigger import envsync
from django_trigger.client import TriggerClient
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.envsync import Plan
from django_trigger.exceptions import ConfigurationError, TriggerError
from django_trigger.management._common import TranslatedCommand
from django_trigger.management._sync_report import (
    EXIT_DRIFT,
    EXIT_ERROR,
    EXIT_OK,
    SyncReport,
    join_and,
)


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the description's paragraphs kept as written."""


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        """Push environment variables to Trigger.dev: plan, show a masked diff, confirm, apply,
verify.

Sources, lowest precedence first (several may be combined):
  1. TRIGGER[alias]["ENVVARS"] in settings: {"NAME": "value"} (None: read NAME from the
     environment) or a list of names read from the environment (--no-settings ignores it);
  2. --env-file files, in the order given;
  3. the process environment: --from-env NAME and --prefix PREFIX (never all of it).
A name defined twice with different values is an error naming both places, unless
--allow-overrides lets the later source win (the plan shows which one did).

Targets: the client's project and environment, or --project-ref / --environment (repeatable:
several environments need a personal access token) / --branch (preview or dev branches).

Exit codes: 0 ok or already in sync; 1 error (nothing is sent when the input is wrong); 2 wrong
usage; 3 --check found changes to make."""
    )

    stealth_options = ("stdin",)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sources = parser.add_argument_group(_("sources"))
        sources.add_argument(
            "--env-file",
            action="append",
            default=[],
            metavar="PATH",
            dest="env_files",
            help=_(
                "A dotenv file (repeatable; later files win with --allow-overrides). UTF-8, read "
                "by django-environ: one NAME=value or 'export NAME=value' per line, no spaces "
                "around '=', blank lines and lines starting with '#' ignored; 'single quotes' "
                'are literal; in "double quotes" \\" and \\\\ are unescaped but \\n stays a '
                "backslash and an n; an inline '# comment' stays in the value unless "
                "--parse-comments; a value cannot span lines; '$' is never expanded."
            ),
        )
        sources.add_argument(
            "--parse-comments",
            action="store_true",
            help=_(
                "Drop inline '# comments' after unquoted values (django-environ's "
                "parse_comments=True)."
            ),
        )
        sources.add_argument(
            "--from-env",
            action="append",
            default=[],
            metavar="NAME",
            dest="from_env",
            help=_("Take NAME from the process environment (repeatable, or comma-separated)."),
        )
        sources.add_argument(
            "--prefix",
            action="append",
            default=[],
            metavar="PREFIX",
            dest="prefixes",
            help=_(
                "Take every process environment variable whose name starts with PREFIX "
                "(repeatable), except the shell/tool variables and TRIGGER_* names the "
                "official SDK never syncs (reported as skipped)."
            ),
        )
        sources.add_argument(
            "--no-settings",
            action="store_false",
            dest="use_settings",
            help=_('Ignore TRIGGER[alias]["ENVVARS"].'),
        )
        sources.add_argument(
            "--allow-overrides",
            action="store_true",
            help=_(
                "Let a later source replace an earlier one's different value instead of refusing."
            ),
        )
        sources.add_argument(
            "--allow-empty",
            action="store_true",
            help=_(
                "Skip (and report) empty values instead of refusing them; Trigger.dev drops "
                "empty values, so they can never be written."
            ),
        )

        targets = parser.add_argument_group(_("targets"))
        targets.add_argument(
            "--client",
            default=DEFAULT_ALIAS,
            metavar="ALIAS",
            help=_("The TRIGGER alias whose client to use (default: %(default)s)."),
        )
        targets.add_argument("--project-ref", metavar="REF", help=_("Project ref (proj_…)."))
        targets.add_argument(
            "-e",
            "--environment",
            action="append",
            default=[],
            dest="environments",
            metavar="ENV",
            help=_(
                "dev, staging (stg), prod or preview; repeatable to sync several environments "
                "in one run (needs a personal access token). Default: the client's."
            ),
        )
        targets.add_argument("--branch", help=_("A preview (or dev) branch name."))
        targets.add_argument(
            "--secret",
            action="append",
            default=[],
            metavar="NAME",
            dest="secret_names",
            help=_(
                "Write NAME as a secret (repeatable, or comma-separated). An existing plain "
                "variable of that name becomes secret; secrets are never made plain again."
            ),
        )
        targets.add_argument(
            "--all-secret",
            action="store_true",
            help=_("Write every variable as a secret."),
        )
        targets.add_argument(
            "--overwrite-secrets",
            action="store_true",
            help=_(
                "Re-send secret variables (which read back as <redacted> and "
                "cannot be compared); without it they are left alone."
            ),
        )

        behaviour = parser.add_argument_group(_("behaviour"))
        behaviour.add_argument(
            "--prune",
            action="store_true",
            help=_(
                "Delete remote variables absent from the sources (after the "
                "import succeeded; asks first in interactive runs)."
            ),
        )
        behaviour.add_argument(
            "--dry-run", action="store_true", help=_("Plan and show; send no write.")
        )
        behaviour.add_argument(
            "--check",
            action="store_true",
            help=_(
                "Plan only; exit %(drift)d when there is anything to create, "
                "update or delete (for CI)."
            )
            % {"drift": EXIT_DRIFT},
        )
        behaviour.add_argument(
            "--no-input",
            "--noinput",
            "--yes",
            action="store_false",
            dest="interactive",
            help=_("Never ask for confirmation (deletions and writes to prod go ahead)."),
        )
        behaviour.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help=_("json: one JSON document with the plan and the result on stdout."),
        )
        behaviour.add_argument(
            "--show-values",
            action="store_true",
            help=_("Show values in the plan and the JSON (masked by default)."),
        )
        behaviour.add_argument(
            "--no-verify",
            action="store_false",
            dest="verify",
            help=_("Skip the verification list after applying (one request fewer)."),
        )

    # -- the run -----------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        self.verbosity: int = options["verbosity"]
        self.as_json = options["format"] == "json"
        self.show_values: bool = options["show_values"]
        self.stdin: TextIO = options.get("stdin") or sys.stdin
        self.report = SyncReport(
            stdout=self.stdout,
            stderr=self.stderr,
            style=self.style,
            verbosity=self.verbosity,
            as_json=self.as_json,
            show_values=self.show_values,
            dry_run=bool(options["dry_run"]),
            check=bool(options["check"]),
        )
        try:
            with self.report.request_logging():
                code, message = self.run()
        except CommandError as err:
            self.report.document["errors"].append(str(err))
            self.report.finish(err.returncode)
            raise
        if message:
            self.report.document["errors"].append(message)
        self.report.finish(code)
        if code != EXIT_OK:
            raise CommandError(message, returncode=code)

    def run(self) -> tuple[int, str]:
        options = self.options
        client, settings_envvars = self.client_and_settings()
        problems: list[str] = []
        targets: list[envsync.Target] = []
        desired = None
        try:
            targets = envsync.resolve_targets(
                client,
                project_ref=options["project_ref"],
                environments=options["environments"],
                branch=options["branch"],
                prune=options["prune"],
            )
        except envsync.TargetError as err:
            problems.extend(err.problems)
        try:
            desired = envsync.collect(
                envsync.Sources(
                    env_files=options["env_files"],
                    settings_envvars=settings_envvars,
                    settings_where=f"TRIGGER[{client.alias or DEFAULT_ALIAS!r}]['ENVVARS']",
                    environ=environ.Env.ENVIRON,
                    environ_names=_split(options["from_env"]),
                    prefixes=options["prefixes"],
                    parse_comments=options["parse_comments"],
                    allow_overrides=options["allow_overrides"],
                    allow_empty=options["allow_empty"],
                    secret_names=_split(options["secret_names"]),
                    all_secret=options["all_secret"],
                )
            )
        except envsync.SourceError as err:
            problems.extend(err.problems)
        if desired is not None and not desired.variables and options["prune"]:
            problems.append(
                _(
                    "Refusing to --prune with no variable in the sources: every "
                    "variable of the environment would be deleted."
                )
            )
        if problems:
            raise CommandError(
                _("Nothing was sent:") + "\n" + "\n".join(f"  - {p}" for p in problems)
            )
        assert desired is not None
        self.report.sources(desired)

        plans = self.make_plans(client, targets, desired)
        if options["check"]:
            drift = [plan for plan in plans if not plan.is_empty]
            if drift:
                where = ", ".join(str(plan.target) for plan in drift)
                return EXIT_DRIFT, _("Changes to make in %(targets)s (--check).") % {
                    "targets": where
                }
            self.report.say(_("In sync: nothing to change."), self.style.SUCCESS)
            return EXIT_OK, ""
        if all(plan.is_empty for plan in plans):
            self.report.say(_("Already in sync: nothing to send."), self.style.SUCCESS)
            return EXIT_OK, ""
        if options["dry_run"]:
            self.report.say(_("Dry run: nothing was written."), self.style.NOTICE)
            return EXIT_OK, ""
        if options["interactive"]:
            answer = self.confirm(plans)
            if answer is None:
                self.report.say(
                    _(
                        "No answer (end of input): nothing was written. Pass --no-input to "
                        "apply without asking."
                    ),
                    self.style.WARNING,
                )
                return EXIT_ERROR, _("Cancelled: no answer to the confirmation.")
            if not answer:
                self.report.say(_("Cancelled: nothing was written."), self.style.WARNING)
                return EXIT_ERROR, _("Cancelled.")
        return self.apply_plans(client, plans)

    def client_and_settings(self) -> tuple[TriggerClient, Any]:
        alias = self.options["client"]
        try:
            client = get_client(alias)
            spec = trigger_settings.get(alias)["ENVVARS"] if self.options["use_settings"] else None
        except ConfigurationError as err:
            raise CommandError(_("Nothing was sent: %(error)s") % {"error": err}) from err
        return client, spec

    def make_plans(
        self, client: TriggerClient, targets: list[envsync.Target], desired: envsync.Desired
    ) -> list[Plan]:
        plans = []
        for index, target in enumerate(targets, start=1):
            self.report.progress(
                index, len(targets), _("listing the variables of %(target)s") % {"target": target}
            )
            try:
                with envsync.target_client(client, target) as target_client:
                    plan = envsync.plan(
                        target_client,
                        target,
                        desired,
                        prune=self.options["prune"],
                        overwrite_secrets=self.options["overwrite_secrets"],
                    )
            except TriggerError as err:
                raise CommandError(
                    _("Could not list the variables of %(target)s; nothing was written: %(error)s")
                    % {"target": target, "error": err}
                ) from err
            plans.append(plan)
            planned = plan.to_dict(self.show_values)
            del planned["target"]
            self.report.document["targets"].append(
                {"target": target.to_dict(), "plan": planned, "result": None}
            )
            self.report.plan(plan, client)
        return plans

    def apply_plans(self, client: TriggerClient, plans: list[Plan]) -> tuple[int, str]:
        total = len(plans)
        for index, plan in enumerate(plans):
            entry = self.report.document["targets"][index]
            if plan.is_empty:
                entry["result"] = {"ok": True, "in_sync": True, "requests": 0}
                self.report.say(
                    _("%(target)s is already in sync.") % {"target": plan.target},
                    self.style.SUCCESS,
                )
                continue
            self.report.progress(
                index + 1, total, _("applying the plan to %(target)s") % {"target": plan.target}
            )

            def step(message: str, number: int = index + 1) -> None:
                self.report.progress(number, total, message, level=2)

            with envsync.target_client(client, plan.target) as target_client:
                result = envsync.apply(
                    target_client, plan, verify_after=self.options["verify"], progress=step
                )
            entry["result"] = result.to_dict()
            self.report.result(result)
            if result.ok:
                continue
            message = _("The sync of %(target)s did not complete (see above).") % {
                "target": plan.target
            }
            rest = plans[index + 1 :]
            for later in self.report.document["targets"][index + 1 :]:
                later["result"] = {"ok": False, "not_attempted": True}
            if rest:
                not_attempted = _("Not attempted: %(targets)s.") % {
                    "targets": ", ".join(str(later.target) for later in rest)
                }
                self.report.say(not_attempted, self.style.ERROR)
                message += " " + not_attempted
            return EXIT_ERROR, message
        return EXIT_OK, ""

    # -- confirmation ------------------------------------------------------------------------

    def confirm(self, plans: list[Plan]) -> bool | None:
        """Ask before deletions and before writing to production; ``None``: no answer."""
        deletes = [(plan.target, change.name) for plan in plans for change in plan.deletes]
        prod = [
            plan.target for plan in plans if plan.target.environment == "prod" and not plan.is_empty
        ]
        if not deletes and not prod:
            return True
        reasons = []
        if deletes:
            by_target: dict[str, list[str]] = {}
            for target, name in deletes:
                by_target.setdefault(str(target), []).append(name)
            reasons.append(
                join_and(
                    [
                        ngettext(
                            "delete %(count)d variable in %(target)s (%(names)s)",
                            "delete %(count)d variables in %(target)s (%(names)s)",
                            len(names),
                        )
                        % {"count": len(names), "target": target, "names": ", ".join(names)}
                        for target, names in by_target.items()
                    ]
                )
            )
        if prod:
            reasons.append(
                _("write to production (%(targets)s)")
                % {"targets": ", ".join(str(t) for t in prod)}
            )
        # The answers are y/yes in every language: [y/N] is not part of the message.
        actions = join_and(reasons)
        question = _("This will %(actions)s. Continue?") % {"actions": actions} + " [y/N] "
        stream = self.stderr if self.as_json else self.stdout
        stream.write(question, ending="")
        stream.flush()
        answer = self.stdin.readline()
        if not answer:  # end of input (no terminal, e.g. CI)
            stream.write("")
            return None
        return answer.strip().lower() in ("y", "yes")


def _split(values: list[str]) -> list[str]:
    """``--secret A,B --secret C`` → ``["A", "B", "C"]``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
