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
from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from django_trigger import envsync
from django_trigger.client import TriggerClient
from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS, trigger_settings
from django_trigger.envsync import Action, ApplyResult, Plan, SkipReason
from django_trigger.exceptions import ConfigurationError, TriggerError

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


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the description's paragraphs kept as written."""


class Command(BaseCommand):
    help = """Push environment variables to Trigger.dev: plan, show a masked diff, confirm, apply,
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

    stealth_options = ("stdin",)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sources = parser.add_argument_group("sources")
        sources.add_argument(
            "--env-file", action="append", default=[], metavar="PATH", dest="env_files",
            help="A dotenv file (repeatable; later files win with --allow-overrides). UTF-8, read "
                 "by django-environ: one NAME=value or 'export NAME=value' per line, no spaces "
                 "around '=', blank lines and lines starting with '#' ignored; 'single quotes' "
                 "are literal; in \"double quotes\" \\\" and \\\\ are unescaped but \\n stays a "
                 "backslash and an n; an inline '# comment' stays in the value unless "
                 "--parse-comments; a value cannot span lines; '$' is never expanded.")
        sources.add_argument(
            "--parse-comments", action="store_true",
            help="Drop inline '# comments' after unquoted values (django-environ's "
                 "parse_comments=True).")
        sources.add_argument(
            "--from-env", action="append", default=[], metavar="NAME", dest="from_env",
            help="Take NAME from the process environment (repeatable, or comma-separated).")
        sources.add_argument(
            "--prefix", action="append", default=[], metavar="PREFIX", dest="prefixes",
            help="Take every process environment variable whose name starts with PREFIX "
                 "(repeatable), except the shell/tool variables and TRIGGER_* names the "
                 "official SDK never syncs (reported as skipped).")
        sources.add_argument(
            "--no-settings", action="store_false", dest="use_settings",
            help='Ignore TRIGGER[alias]["ENVVARS"].')
        sources.add_argument(
            "--allow-overrides", action="store_true",
            help="Let a later source replace an earlier one's different value instead of "
                 "refusing.")
        sources.add_argument(
            "--allow-empty", action="store_true",
            help="Skip (and report) empty values instead of refusing them; Trigger.dev drops "
                 "empty values, so they can never be written.")

        targets = parser.add_argument_group("targets")
        targets.add_argument(
            "--client", default=DEFAULT_ALIAS, metavar="ALIAS",
            help="The TRIGGER alias whose client to use (default: %(default)s).")
        targets.add_argument("--project-ref", metavar="REF", help="Project ref (proj_…).")
        targets.add_argument(
            "-e", "--environment", action="append", default=[], dest="environments",
            metavar="ENV",
            help="dev, staging (stg), prod or preview; repeatable to sync several environments "
                 "in one run (needs a personal access token). Default: the client's.")
        targets.add_argument("--branch", help="A preview (or dev) branch name.")
        targets.add_argument(
            "--secret", action="append", default=[], metavar="NAME", dest="secret_names",
            help="Write NAME as a secret (repeatable, or comma-separated). An existing plain "
                 "variable of that name becomes secret; secrets are never made plain again.")
        targets.add_argument(
            "--all-secret", action="store_true", help="Write every variable as a secret.")
        targets.add_argument(
            "--overwrite-secrets", action="store_true",
            help="Re-send secret variables (which read back as <redacted> and cannot be "
                 "compared); without it they are left alone.")

        behaviour = parser.add_argument_group("behaviour")
        behaviour.add_argument(
            "--prune", action="store_true",
            help="Delete remote variables absent from the sources (after the import "
                 "succeeded; asks first in interactive runs).")
        behaviour.add_argument(
            "--dry-run", action="store_true", help="Plan and show; send no write.")
        behaviour.add_argument(
            "--check", action="store_true",
            help=f"Plan only; exit {EXIT_DRIFT} when there is anything to create, update or "
                 "delete (for CI).")
        behaviour.add_argument(
            "--no-input", "--noinput", "--yes", action="store_false", dest="interactive",
            help="Never ask for confirmation (deletions and writes to prod go ahead).")
        behaviour.add_argument(
            "--format", choices=["text", "json"], default="text",
            help="json: one JSON document with the plan and the result on stdout.")
        behaviour.add_argument(
            "--show-values", action="store_true",
            help="Show values in the plan and the JSON (masked by default).")
        behaviour.add_argument(
            "--no-verify", action="store_false", dest="verify",
            help="Skip the verification list after applying (one request fewer).")

    # -- the run -----------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        self.verbosity: int = options["verbosity"]
        self.as_json = options["format"] == "json"
        self.show_values: bool = options["show_values"]
        self.stdin: TextIO = options.get("stdin") or sys.stdin
        self.document: dict[str, Any] = {
            "ok": False, "exit_code": EXIT_ERROR, "dry_run": bool(options["dry_run"]),
            "check": bool(options["check"]), "values_shown": self.show_values, "errors": [],
            "warnings": [], "skipped": [], "targets": [],
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
                client, project_ref=options["project_ref"],
                environments=options["environments"], branch=options["branch"],
                prune=options["prune"])
        except envsync.TargetError as err:
            problems.extend(err.problems)
        try:
            desired = envsync.collect(envsync.Sources(
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
            ))
        except envsync.SourceError as err:
            problems.extend(err.problems)
        if desired is not None and not desired.variables and options["prune"]:
            problems.append("Refusing to --prune with no variable in the sources: every "
                            "variable of the environment would be deleted.")
        if problems:
            raise CommandError("Nothing was sent:\n" + "\n".join(f"  - {p}" for p in problems))
        assert desired is not None
        self.show_sources(desired)

        plans = self.make_plans(client, targets, desired)
        if options["check"]:
            drift = [plan for plan in plans if not plan.is_empty]
            if drift:
                where = ", ".join(str(plan.target) for plan in drift)
                return EXIT_DRIFT, f"Changes to make in {where} (--check)."
            self.say("In sync: nothing to change.", self.style.SUCCESS)
            return EXIT_OK, ""
        if all(plan.is_empty for plan in plans):
            self.say("Already in sync: nothing to send.", self.style.SUCCESS)
            return EXIT_OK, ""
        if options["dry_run"]:
            self.say("Dry run: nothing was written.", self.style.NOTICE)
            return EXIT_OK, ""
        if options["interactive"]:
            answer = self.confirm(plans)
            if answer is None:
                self.say("No answer (end of input): nothing was written. Pass --no-input to "
                         "apply without asking.", self.style.WARNING)
                return EXIT_ERROR, "Cancelled: no answer to the confirmation."
            if not answer:
                self.say("Cancelled: nothing was written.", self.style.WARNING)
                return EXIT_ERROR, "Cancelled."
        return self.apply_plans(client, plans)

    def client_and_settings(self) -> tuple[TriggerClient, Any]:
        alias = self.options["client"]
        try:
            client = get_client(alias)
            spec = trigger_settings.get(alias)["ENVVARS"] if self.options["use_settings"] else None
        except ConfigurationError as err:
            raise CommandError(f"Nothing was sent: {err}") from err
        return client, spec

    def make_plans(self, client: TriggerClient, targets: list[envsync.Target],
                   desired: envsync.Desired) -> list[Plan]:
        plans = []
        for index, target in enumerate(targets, start=1):
            self.progress(index, len(targets), f"listing the variables of {target}")
            try:
                with envsync.target_client(client, target) as target_client:
                    plan = envsync.plan(
                        target_client, target, desired, prune=self.options["prune"],
                        overwrite_secrets=self.options["overwrite_secrets"])
            except TriggerError as err:
                raise CommandError(f"Could not list the variables of {target}; nothing was "
                                   f"written: {err}") from err
            plans.append(plan)
            planned = plan.to_dict(self.show_values)
            del planned["target"]
            self.document["targets"].append({"target": target.to_dict(), "plan": planned,
                                             "result": None})
            self.show_plan(plan, client)
        return plans

    def apply_plans(self, client: TriggerClient, plans: list[Plan]) -> tuple[int, str]:
        total = len(plans)
        for index, plan in enumerate(plans):
            entry = self.document["targets"][index]
            if plan.is_empty:
                entry["result"] = {"ok": True, "in_sync": True, "requests": 0}
                self.say(f"{plan.target} is already in sync.", self.style.SUCCESS)
                continue
            self.progress(index + 1, total, f"applying the plan to {plan.target}")

            def step(message: str, number: int = index + 1) -> None:
                self.progress(number, total, message, level=2)

            with envsync.target_client(client, plan.target) as target_client:
                result = envsync.apply(target_client, plan, verify_after=self.options["verify"],
                                       progress=step)
            entry["result"] = result.to_dict()
            self.show_result(result)
            if result.ok:
                continue
            message = f"The sync of {plan.target} did not complete (see above)."
            rest = plans[index + 1:]
            for later in self.document["targets"][index + 1:]:
                later["result"] = {"ok": False, "not_attempted": True}
            if rest:
                names = ", ".join(str(later.target) for later in rest)
                self.say(f"Not attempted: {names}.", self.style.ERROR)
                message += f" Not attempted: {names}."
            return EXIT_ERROR, message
        return EXIT_OK, ""

    # -- confirmation ------------------------------------------------------------------------

    def confirm(self, plans: list[Plan]) -> bool | None:
        """Ask before deletions and before writing to production; ``None``: no answer."""
        deletes = [(plan.target, change.name) for plan in plans for change in plan.deletes]
        prod = [plan.target for plan in plans
                if plan.target.environment == "prod" and not plan.is_empty]
        if not deletes and not prod:
            return True
        reasons = []
        if deletes:
            by_target: dict[str, list[str]] = {}
            for target, name in deletes:
                by_target.setdefault(str(target), []).append(name)
            reasons.append(" and ".join(
                f"delete {len(names)} variable{'s' if len(names) != 1 else ''} in {target} "
                f"({', '.join(names)})" for target, names in by_target.items()))
        if prod:
            reasons.append(f"write to production ({', '.join(str(t) for t in prod)})")
        question = f"This will {' and '.join(reasons)}. Continue? [y/N] "
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
        self.document["sources"] = [{"source": source, "definitions": count}
                                    for source, count in desired.sources]
        self.document["warnings"] = list(desired.warnings)
        self.document["skipped"] = [
            {"name": item.name, "reason": item.reason.value, "source": str(item.origin)}
            for item in desired.skipped
        ]
        count = len(desired)
        used = " < ".join(f"{source} ({number} definition{'s' if number != 1 else ''})"
                          for source, number in desired.sources)
        self.say(f"{count} variable{'s' if count != 1 else ''} from {used or 'no source'}"
                 + (" (lowest precedence first)." if len(desired.sources) > 1 else "."))
        for var in desired.variables.values():
            if var.overrides:
                replaced = ", ".join(str(origin) for origin in var.overrides)
                self.say(f"  {var.name}: {var.origin} overrides {replaced} "
                         "(--allow-overrides)")
        for warning in desired.warnings:
            self.say(f"Warning: {warning}", self.style.WARNING)
        if desired.skipped:
            self.say("Skipped (never sent):", self.style.WARNING)
            for item in desired.skipped:
                level = 2 if item.reason is SkipReason.UNSYNCABLE else 1
                self.say(f"  ! {item.name}  {item.origin}: {item.reason.explanation}",
                         level=level)
            hidden = sum(1 for item in desired.skipped if item.reason is SkipReason.UNSYNCABLE)
            if hidden and self.verbosity < 2:
                self.say(f"  ! {hidden} shell/tool or TRIGGER_* variable"
                         f"{'s' if hidden != 1 else ''} matched --prefix (-v 2 lists them)")

    def show_plan(self, plan: Plan, client: TriggerClient) -> None:
        credential = "personal access token" if client.uses_personal_token else "secret key"
        self.say("")
        self.say(f"Plan for {plan.target} ({credential}):", self.style.MIGRATE_HEADING)
        styles = {
            Action.CREATE: self.style.SUCCESS, Action.UPDATE: self.style.WARNING,
            Action.DELETE: self.style.ERROR, Action.SECRET: self.style.NOTICE,
        }
        shown = [c for c in plan.changes if c.action not in (Action.UNCHANGED, Action.KEEP)
                 or self.verbosity >= 2]
        rows = [(f"{_SYMBOLS[c.action]} {c.action.value}", c.name, self.describe_value(c),
                 str(c.origin) if c.origin else "Trigger.dev", c.reason) for c in shown]
        if rows:
            lines = _table([("  ACTION", "NAME", "VALUE", "SOURCE", "NOTE"),
                            *[("  " + row[0], *row[1:]) for row in rows]])
            self.say(lines[0])
            for change, line in zip(shown, lines[1:], strict=True):
                self.say(line, styles.get(change.action))
        counts = plan.counts()
        parts = [f"{counts['create']} to create", f"{counts['update']} to update",
                 f"{counts['delete']} to delete", f"{counts['unchanged']} unchanged"]
        if counts["secret"]:
            parts.append(f"{counts['secret']} secret not compared (left alone; "
                         "--overwrite-secrets re-sends)")
        if counts["keep"]:
            parts.append(f"{counts['keep']} only in Trigger.dev (kept; --prune deletes)")
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} skipped")
        self.say(f"  Summary: {', '.join(parts)}.")

    def describe_value(self, change: envsync.Change) -> str:
        if change.action is Action.SECRET:
            return "(secret)"
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
            done = (f"{len(plan.creates)} created, {len(plan.updates)} updated, "
                    f"{len(plan.deletes)} deleted")
            requests = 1 + result.requests  # the plan's list, then the apply's own
            self.say(f"Applied to {target}: {done} ({requests} requests in all).",
                     self.style.SUCCESS)
        else:
            self.say(f"FAILED in {target} at the {result.failed_step}: {result.error}",
                     self.style.ERROR)
            for label, names in (("applied", result.applied),
                                 ("not applied", result.not_applied),
                                 ("unknown (could not be confirmed)", result.unknown)):
                if names:
                    self.say(f"  {label}: {', '.join(names)}")
        verification = result.verification
        if verification is None:
            self.say("  Not verified (--no-verify).", level=2)
        elif verification.error is not None:
            self.say(f"  Could not list the variables again to check: {verification.error}",
                     self.style.ERROR)
        elif result.error is not None:
            pass  # the applied / not applied lists above come from the verification list
        elif verification.differences:
            self.say(f"  Verification found differences in {target}:", self.style.ERROR)
            for difference in verification.differences:
                self.say(f"    {difference.name}: {difference.problem}")
        else:
            self.say(f"  Verified: {target} matches the sources.", self.style.SUCCESS)
        if verification and verification.unverifiable and result.error is None:
            count = len(verification.unverifiable)
            self.say(f"  {count} secret value{'s' if count != 1 else ''} cannot be read back: "
                     "checked for presence only.", level=2)

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
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                       row[-1]]).rstrip() for row in rows]


def _split(values: list[str]) -> list[str]:
    """``--secret A,B --secret C`` → ``["A", "B", "C"]``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _shown(value: str | None) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_VALUE_WIDTH else text[: _SHOWN_VALUE_WIDTH - 1] + "…"
