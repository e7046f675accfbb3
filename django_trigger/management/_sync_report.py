"""The report of ``manage.py trigger_sync_envvars``: the human lines (translated, styled, by
verbosity), the progress lines, and the JSON document of ``--format json``. The command decides
and asks; this module only renders what it is given (values masked unless ``--show-values``)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from django.core.management.base import OutputWrapper
from django.core.management.color import Style
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from django_trigger import envsync
from django_trigger.client import TriggerClient
from django_trigger.envsync import Action, ApplyResult, Plan, SkipReason

#: Exit codes (also the JSON document's ``exit_code``): ok or in sync, error, ``--check`` drift.
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


class SyncReport:
    """What one run of the command says: on stdout (stderr for progress in JSON mode), and in
    ``document``, printed as one JSON document by ``finish`` with ``--format json``."""

    def __init__(
        self,
        *,
        stdout: OutputWrapper,
        stderr: OutputWrapper,
        style: Style,
        verbosity: int,
        as_json: bool,
        show_values: bool,
        dry_run: bool,
        check: bool,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.style = style
        self.verbosity = verbosity
        self.as_json = as_json
        self.show_values = show_values
        self.document: dict[str, Any] = {
            "ok": False,
            "exit_code": EXIT_ERROR,
            "dry_run": dry_run,
            "check": check,
            "values_shown": show_values,
            "errors": [],
            "warnings": [],
            "skipped": [],
            "targets": [],
        }

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

    def sources(self, desired: envsync.Desired) -> None:
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

    def plan(self, plan: Plan, client: TriggerClient) -> None:
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

    def result(self, result: ApplyResult) -> None:
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


def join_and(items: list[str]) -> str:
    """``a and b and c``, each "and" translatable with the phrases it joins."""
    text = items[0]
    for item in items[1:]:
        text = _("%(first)s and %(second)s") % {"first": text, "second": item}
    return text


def _shown(value: str | None) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_VALUE_WIDTH else text[: _SHOWN_VALUE_WIDTH - 1] + "…"
