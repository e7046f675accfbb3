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
parses options, asks for confirmation and prints. Exit codes: 0 ok / already in sync, 1 error
(bad input, API error, partial failure, verification difference, cancelled), 2 wrong usage
(argparse), 3 ``--check`` found changes to make.

What people read is translated (gettext, in the active language: ``LANGUAGE_CODE``); what
machines read is not: the JSON document's keys and codes (``action``, ``reason``, ``source``,
skip reasons, difference problems) stay English, and so do the ``-v 2`` HTTP log lines.
Its prose (``errors``, ``warnings``, ``failed_step``) is the same text as the human report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import environ
from django.core.management.base import CommandError, DjangoHelpFormatter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from django_trigger import envsync
from django_trigger.client import TriggerClient
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.envsync import Action, ApplyResult, Plan, SkipReason
from django_trigger.exceptions import ConfigurationError, TriggerError
from django_trigger.management._common import TranslatedCommand

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 3
MASK = "********"
_SHOWN_VALUE_WIDTH = 40

_SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.UNCHANGED: "=",
    Action.SECRET: "?",
    Action.DELETE: "-",
    Action.KEEP: "·",
}
# The ACTION column of the table; the JSON keeps ``Action`` values.
_ACTION_LABELS = {
    Action.CREATE: pgettext_lazy("envsync action", "create"),
    Action.UPDATE: pgettext_lazy("envsync action", "update"),
    Action.UNCHANGED: pgettext_lazy("envsync action", "unchanged"),
    Action.SECRET: pgettext_lazy("envsync action", "secret"),
    Action.DELETE: pgettext_lazy("envsync action", "delete"),
    Action.KEEP: pgettext_lazy("envsync action", "keep"),
}


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
        self.document: dict[str, Any] = {
            "ok": False,
            "exit_code": EXIT_ERROR,
            "dry_run": bool(options["dry_run"]),
            "check": bool(options["check"]),
            "values_shown": self.show_values,
            "errors": [],
            "warnings": [],
            "skipped": [],
            "targets": [],
        }
        try:
            with self.request_logging():
                code, message = self.run()
        except CommandError as err:
            self.document["errors"].append(str(err))
            self.finish(err.returncode)
            raise
        if message:
            self.document["errors"].append(message)
        self.finish(code)
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
        self.show_sources(desired)

        plans = self.make_plans(client, targets, desired)
        if options["check"]:
            drift = [plan for plan in plans if not plan.is_empty]
            if drift:
                where = ", ".join(str(plan.target) for plan in drift)
                return EXIT_DRIFT, _("Changes to make in %(targets)s (--check).") % {
                    "targets": where
                }
            self.say(_("In sync: nothing to change."), self.style.SUCCESS)
            return EXIT_OK, ""
        if all(plan.is_empty for plan in plans):
            self.say(_("Already in sync: nothing to send."), self.style.SUCCESS)
            return EXIT_OK, ""
        if options["dry_run"]:
            self.say(_("Dry run: nothing was written."), self.style.NOTICE)
            return EXIT_OK, ""
        if options["interactive"]:
            answer = self.confirm(plans)
            if answer is None:
                self.say(
                    _(
                        "No answer (end of input): nothing was written. Pass --no-input to "
                        "apply without asking."
                    ),
                    self.style.WARNING,
                )
                return EXIT_ERROR, _("Cancelled: no answer to the confirmation.")
            if not answer:
                self.say(_("Cancelled: nothing was written."), self.style.WARNING)
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
            self.progress(
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
            self.document["targets"].append(
                {"target": target.to_dict(), "plan": planned, "result": None}
            )
            self.show_plan(plan, client)
        return plans

    def apply_plans(self, client: TriggerClient, plans: list[Plan]) -> tuple[int, str]:
        total = len(plans)
        for index, plan in enumerate(plans):
            entry = self.document["targets"][index]
            if plan.is_empty:
                entry["result"] = {"ok": True, "in_sync": True, "requests": 0}
                self.say(
                    _("%(target)s is already in sync.") % {"target": plan.target},
                    self.style.SUCCESS,
                )
                continue
            self.progress(
                index + 1, total, _("applying the plan to %(target)s") % {"target": plan.target}
            )

            def step(message: str, number: int = index + 1) -> None:
                self.progress(number, total, message, level=2)

            with envsync.target_client(client, plan.target) as target_client:
                result = envsync.apply(
                    target_client, plan, verify_after=self.options["verify"], progress=step
                )
            entry["result"] = result.to_dict()
            self.show_result(result)
            if result.ok:
                continue
            message = _("The sync of %(target)s did not complete (see above).") % {
                "target": plan.target
            }
            rest = plans[index + 1 :]
            for later in self.document["targets"][index + 1 :]:
                later["result"] = {"ok": False, "not_attempted": True}
            if rest:
                not_attempted = _("Not attempted: %(targets)s.") % {
                    "targets": ", ".join(str(later.target) for later in rest)
                }
                self.say(not_attempted, self.style.ERROR)
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
                _and(
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
        question = _("This will %(actions)s. Continue?") % {"actions": _and(reasons)} + " [y/N] "
        stream = self.stderr if self.as_json else self.stdout
        stream.write(question, ending="")
        stream.flush()
        answer = self.stdin.readline()
        if not answer:  # end of input (no terminal, e.g. CI)
            stream.write("")
            return None
        return answer.strip().lower() in ("y", "yes")

    # -- output ------------------------------------------------------------------------------

    def say(self, message: str, style: Any = None, *, level: int = 1) -> None:
        """A line of the human report on stdout (not in JSON mode: the document has it all)."""
        if self.verbosity >= level and not self.as_json:
            self.stdout.write(style(message) if style else message)

    def progress(self, index: int, total: int, message: str, *, level: int = 1) -> None:
        """Progress lines: shown for multi-environment runs, and for every run with -v 2 (on
        stderr in JSON mode, so that stdout stays one JSON document)."""
        if total == 1:
            level = 2
        if self.verbosity < level:
            return
        prefix = f"[{index}/{total}] " if total > 1 else ""
        (self.stderr if self.as_json else self.stdout).write(f"{prefix}{message}…")

    def show_sources(self, desired: envsync.Desired) -> None:
        self.document["sources"] = [
            {"source": source, "definitions": count} for source, count in desired.sources
        ]
        self.document["warnings"] = list(desired.warnings)
        self.document["skipped"] = [
            {"name": item.name, "reason": item.reason.value, "source": str(item.origin)}
            for item in desired.skipped
        ]
        count = len(desired)
        used = " < ".join(
            ngettext(
                "%(source)s (%(count)d definition)", "%(source)s (%(count)d definitions)", number
            )
            % {"source": source, "count": number}
            for source, number in desired.sources
        )
        if not desired.sources:
            line = ngettext(
                "%(count)d variable from no source.", "%(count)d variables from no source.", count
            )
        elif len(desired.sources) == 1:
            line = ngettext(
                "%(count)d variable from %(sources)s.",
                "%(count)d variables from %(sources)s.",
                count,
            )
        else:
            line = ngettext(
                "%(count)d variable from %(sources)s (lowest precedence first).",
                "%(count)d variables from %(sources)s (lowest precedence first).",
                count,
            )
        self.say(line % {"count": count, "sources": used})
        for var in desired.variables.values():
            if var.overrides:
                replaced = ", ".join(str(origin) for origin in var.overrides)
                self.say(
                    "  "
                    + _("%(name)s: %(origin)s overrides %(replaced)s (--allow-overrides)")
                    % {"name": var.name, "origin": var.origin, "replaced": replaced}
                )
        for warning in desired.warnings:
            self.say(_("Warning: %(warning)s") % {"warning": warning}, self.style.WARNING)
        if desired.skipped:
            self.say(_("Skipped (never sent):"), self.style.WARNING)
            for item in desired.skipped:
                level = 2 if item.reason is SkipReason.UNSYNCABLE else 1
                self.say(f"  ! {item.name}  {item.origin}: {item.reason.explanation}", level=level)
            hidden = sum(1 for item in desired.skipped if item.reason is SkipReason.UNSYNCABLE)
            if hidden and self.verbosity < 2:
                self.say(
                    "  ! "
                    + ngettext(
                        "%(count)d shell/tool or TRIGGER_* variable matched --prefix (-v 2 lists "
                        "them)",
                        "%(count)d shell/tool or TRIGGER_* variables matched --prefix (-v 2 lists "
                        "them)",
                        hidden,
                    )
                    % {"count": hidden}
                )

    def show_plan(self, plan: Plan, client: TriggerClient) -> None:
        credential = _("personal access token") if client.uses_personal_token else _("secret key")
        self.say("")
        self.say(
            _("Plan for %(target)s (%(credential)s):")
            % {"target": plan.target, "credential": credential},
            self.style.MIGRATE_HEADING,
        )
        styles = {
            Action.CREATE: self.style.SUCCESS,
            Action.UPDATE: self.style.WARNING,
            Action.DELETE: self.style.ERROR,
            Action.SECRET: self.style.NOTICE,
        }
        shown = [
            c
            for c in plan.changes
            if c.action not in (Action.UNCHANGED, Action.KEEP) or self.verbosity >= 2
        ]
        rows = [
            (
                f"{_SYMBOLS[c.action]} {_ACTION_LABELS[c.action]}",
                c.name,
                self.describe_value(c),
                str(c.origin) if c.origin else "Trigger.dev",
                _(c.reason) if c.reason else "",
            )
            for c in shown
        ]
        if rows:
            lines = _table(
                [
                    ("  " + _("ACTION"), _("NAME"), _("VALUE"), _("SOURCE"), _("NOTE")),
                    *[("  " + row[0], *row[1:]) for row in rows],
                ]
            )
            self.say(lines[0])
            for change, line in zip(shown, lines[1:], strict=True):
                self.say(line, styles.get(change.action))
        counts = plan.counts()
        # ngettext although English does not change: other languages agree with the count.
        phrases = [
            (
                "create",
                True,
                ngettext("%(count)d to create", "%(count)d to create", counts["create"]),
            ),
            (
                "update",
                True,
                ngettext("%(count)d to update", "%(count)d to update", counts["update"]),
            ),
            (
                "delete",
                True,
                ngettext("%(count)d to delete", "%(count)d to delete", counts["delete"]),
            ),
            (
                "unchanged",
                True,
                ngettext("%(count)d unchanged", "%(count)d unchanged", counts["unchanged"]),
            ),
            (
                "secret",
                False,
                ngettext(
                    "%(count)d secret not compared (left alone; --overwrite-secrets re-sends)",
                    "%(count)d secret not compared (left alone; --overwrite-secrets re-sends)",
                    counts["secret"],
                ),
            ),
            (
                "keep",
                False,
                ngettext(
                    "%(count)d only in Trigger.dev (kept; --prune deletes)",
                    "%(count)d only in Trigger.dev (kept; --prune deletes)",
                    counts["keep"],
                ),
            ),
            (
                "skipped",
                False,
                ngettext("%(count)d skipped", "%(count)d skipped", counts["skipped"]),
            ),
        ]
        parts = [
            phrase % {"count": counts[key]}
            for key, always, phrase in phrases
            if always or counts[key]
        ]
        self.say("  " + _("Summary: %(counts)s.") % {"counts": ", ".join(parts)})

    def describe_value(self, change: envsync.Change) -> str:
        if change.action is Action.SECRET:
            return _("(secret)")
        if not self.show_values:
            return MASK
        if change.action in (Action.DELETE, Action.KEEP):
            return _shown(change.remote_value)
        if change.action is Action.UPDATE:
            return f"{_shown(change.remote_value)} → {_shown(change.value)}"
        return _shown(change.value)

    def show_result(self, result: ApplyResult) -> None:
        target = result.plan.target
        plan = result.plan
        if result.error is None:
            requests = 1 + result.requests  # the plan's list, then the apply's own
            self.say(
                _(
                    "Applied to %(target)s: %(created)d created, %(updated)d updated, "
                    "%(deleted)d deleted (%(requests)d requests in all)."
                )
                % {
                    "target": target,
                    "created": len(plan.creates),
                    "updated": len(plan.updates),
                    "deleted": len(plan.deletes),
                    "requests": requests,
                },
                self.style.SUCCESS,
            )
            if result.applied:
                self.say(
                    "  " + _("applied: %(names)s") % {"names": ", ".join(result.applied)}, level=2
                )
            if result.already_there:
                self.say(
                    "  "
                    + _("already there (answer lost, read back): %(names)s")
                    % {"names": ", ".join(result.already_there)}
                )
        else:
            self.say(
                _("FAILED in %(target)s at the %(step)s: %(error)s")
                % {"target": target, "step": result.failed_step, "error": result.error},
                self.style.ERROR,
            )
            for label, names in (
                (_("applied: %(names)s"), result.applied),
                (_("already there (answer lost, read back): %(names)s"), result.already_there),
                (_("not applied: %(names)s"), result.not_applied),
                (_("unknown (could not be confirmed): %(names)s"), result.unknown),
            ):
                if names:
                    self.say("  " + label % {"names": ", ".join(names)})
        verification = result.verification
        if verification is None:
            self.say("  " + _("Not verified (--no-verify)."), level=2)
        elif verification.error is not None:
            self.say(
                "  "
                + _("Could not list the variables again to check: %(error)s")
                % {"error": verification.error},
                self.style.ERROR,
            )
        elif result.error is not None:
            pass  # the applied / not applied lists above come from the verification list
        elif verification.differences:
            self.say(
                "  " + _("Verification found differences in %(target)s:") % {"target": target},
                self.style.ERROR,
            )
            for difference in verification.differences:
                self.say(f"    {difference.name}: {_(difference.problem)}")
        else:
            self.say(
                "  " + _("Verified: %(target)s matches the sources.") % {"target": target},
                self.style.SUCCESS,
            )
        if verification and verification.unverifiable and result.error is None:
            count = len(verification.unverifiable)
            self.say(
                "  "
                + ngettext(
                    "%(count)d secret value cannot be read back: checked for presence only.",
                    "%(count)d secret values cannot be read back: checked for presence only.",
                    count,
                )
                % {"count": count},
                level=2,
            )

    def finish(self, code: int) -> None:
        self.document["exit_code"] = code
        self.document["ok"] = code == EXIT_OK
        if self.as_json:
            self.stdout.write(json.dumps(self.document, indent=2, ensure_ascii=False))

    @contextlib.contextmanager
    def request_logging(self) -> Iterator[None]:
        """With -v 2 or more, log each HTTP request (method, path, status; never a token or a
        value: the transport logs no headers or bodies)."""
        if self.verbosity < 2:
            yield
            return
        logger = logging.getLogger("django_trigger.http")
        handler = logging.StreamHandler(self.stderr if self.as_json else self.stdout)
        handler.setFormatter(logging.Formatter("  HTTP %(message)s"))
        previous = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as aligned text columns (the last column is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


def _and(items: list[str]) -> str:
    """``a and b and c``, each "and" translatable with the phrases it joins."""
    text = items[0]
    for item in items[1:]:
        text = _("%(first)s and %(second)s") % {"first": text, "second": item}
    return text


def _split(values: list[str]) -> list[str]:
    """``--secret A,B --secret C`` → ``["A", "B", "C"]``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _shown(value: str | None) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_VALUE_WIDTH else text[: _SHOWN_VALUE_WIDTH - 1] + "…"
