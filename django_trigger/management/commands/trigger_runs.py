"""``manage.py trigger_runs export``: every run matching the client's filters, streamed to CSV or
JSON Lines, resumable after an interruption.

Examples::

    # Failed runs of the last 30 days, as CSV on stdout
    python manage.py trigger_runs export --status FAILED --period 30d > failed.csv

    # Everything of a task in a date range, as JSON Lines (the API's own objects), to a file
    python manage.py trigger_runs export --task send-email --from 2025-01-01 --to 2025-02-01 \\
        --format jsonl --output runs.jsonl

    # The connection dropped (or Ctrl-C): carry on where it stopped
    python manage.py trigger_runs export --output runs.jsonl --resume

Pages are fetched at the maximum size (100) and written as they arrive: memory stays constant
whatever the number of runs. With ``--output FILE``, ``FILE.state.json`` next to it records,
after each written page, the cursor of the next page, the count and the file's length; after an
interruption ``--resume`` cuts the file back to that length and goes on from that cursor (no
duplicate, no gap), with the filters saved there. A relative ``--period`` (and the API's
implicit 7-day window) is fixed to absolute dates at the start so that a resumed export covers
the same window. The state file is removed when the export completes.

Exit codes: 0 done, 1 error or interrupted (resumable), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_trigger.client import TriggerClient
from django_trigger.exceptions import InvalidRequestError, TriggerError
from django_trigger.management._common import (
    EXIT_ERROR,
    TranslatedCommand,
    add_client_arguments,
    client_for,
    is_terminal,
    request_logging,
)
from django_trigger.resources.runs import MAX_PAGE_SIZE
from django_trigger.types import RunListItem

STATE_VERSION = 1
DEFAULT_WINDOW = "7d"  # the API's implicit window without from/to/period (API.md §16)
_PERIOD = re.compile(r"([1-9]\d*)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

CSV_COLUMNS = (
    "id",
    "status",
    "task_identifier",
    "version",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "delayed_until",
    "expired_at",
    "duration_ms",
    "cost_in_cents",
    "base_cost_in_cents",
    "is_test",
    "tags",
    "idempotency_key",
    "region",
    "environment",
)
# The filters saved in the state file, by argparse dest.
FILTERS = (
    "status",
    "task",
    "tag",
    "version",
    "batch",
    "schedule",
    "bulk_action",
    "machine",
    "region",
    "queue",
    "is_test",
    "from_",
    "to",
    "environment",
)


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Export runs (the client's filters) as CSV or JSON Lines, streamed and resumable."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = sub.add_parser(
            "export",
            help=_("Every matching run to CSV or JSON Lines."),
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_client_arguments(export)
        filters = export.add_argument_group(_("filters (as client.runs.list)"))
        many: dict[str, Any] = {"action": "append", "default": []}
        filters.add_argument(
            "--status",
            metavar="STATUS",
            **many,
            help=_("Run status (repeatable or comma-separated)."),
        )
        filters.add_argument(
            "--task", metavar="TASK", **many, help=_("Task identifier (repeatable).")
        )
        filters.add_argument("--tag", metavar="TAG", **many, help=_("Tag (repeatable)."))
        filters.add_argument(
            "--version",
            metavar="VERSION",
            **many,
            dest="version",
            help=_("Deployed version (repeatable)."),
        )
        filters.add_argument("--machine", metavar="PRESET", **many)
        filters.add_argument("--region", metavar="REGION", **many)
        filters.add_argument(
            "--queue",
            metavar="QUEUE",
            **many,
            help=_("A custom queue's name, or task/<task> (repeatable)."),
        )
        filters.add_argument("--batch", metavar="BATCH_ID")
        filters.add_argument("--schedule", metavar="SCHEDULE_ID")
        filters.add_argument("--bulk-action", metavar="BULK_ID", dest="bulk_action")
        filters.add_argument(
            "--test",
            action=argparse.BooleanOptionalAction,
            dest="is_test",
            help=_("Only test runs (--no-test: only real ones)."),
        )
        window = filters.add_mutually_exclusive_group()
        window.add_argument(
            "--period",
            metavar="PERIOD",
            help=_(
                "Runs created in the last PERIOD (30m, 12h, 7d, 2w). Without "
                "--period/--from, the API's default: the last 7 days."
            ),
        )
        window.add_argument(
            "--from",
            metavar="DATE",
            dest="from_",
            help=_("Created at or after DATE (ISO 8601; a date alone is midnight UTC)."),
        )
        filters.add_argument("--to", metavar="DATE", help=_("Created before DATE (ISO 8601)."))

        out = export.add_argument_group(_("output"))
        out.add_argument(
            "--format",
            choices=["csv", "jsonl"],
            default=None,
            help=_("csv (default) or jsonl: one API run object per line."),
        )
        out.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            help=_("Write to FILE (default: stdout). Needed for --resume."),
        )
        out.add_argument(
            "--resume",
            action="store_true",
            help=_(
                "Continue the interrupted export to --output FILE "
                "with the filters it was started with."
            ),
        )
        out.add_argument(
            "--force",
            action="store_true",
            help=_("Replace an existing FILE (and forget an interrupted export to it)."),
        )
        out.add_argument(
            "--no-progress",
            action="store_false",
            dest="progress",
            help=_("No progress line on stderr (there is none when stderr is not a terminal)."),
        )
        out.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_("Accepted for symmetry (the export never asks)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        self.verbosity: int = options["verbosity"]
        with request_logging(self.verbosity, self.stderr):
            self.export()

    # -- export ------------------------------------------------------------------------------

    def export(self) -> None:
        options = self.options
        output = options["output"]
        if output == "-":
            output = None
        if options["resume"] and not output:
            raise CommandError(_("--resume needs --output FILE (the state is kept next to it)."))
        state_path = Path(f"{output}.state.json") if output else None
        state: dict[str, Any] | None = None
        if options["resume"]:
            assert state_path is not None
            state = self.load_state(state_path, Path(output))
        elif output and not options["force"]:
            if state_path is not None and state_path.exists():
                raise CommandError(
                    _(
                        "%(path)s holds an interrupted export: pass --resume to continue it, or "
                        "--force to start again."
                    )
                    % {"path": output}
                )
            if Path(output).exists():
                raise CommandError(
                    _("%(path)s exists: pass --force to replace it.") % {"path": output}
                )

        if state is None:
            query = self.query_from_options()
            fmt = options["format"] or "csv"
            alias = options["client"]
        else:
            query, fmt, alias = state["query"], state["format"], state["alias"]
        client = client_for(alias, query.get("environment"))
        try:
            self.walk(client, _list_kwargs(query), fmt, alias, query, output, state_path, state)
        finally:
            client.close()

    def query_from_options(self) -> dict[str, Any]:
        options = self.options
        query: dict[str, Any] = {name: options[name] for name in FILTERS}
        now = datetime.now(timezone.utc)
        try:
            if options["period"] or not (options["from_"] or options["to"]):
                period = options["period"] or DEFAULT_WINDOW
                match = _PERIOD.fullmatch(period)
                if not match:
                    raise ValueError(
                        _("--period must look like 30m, 12h, 7d or 2w, not %(value)r")
                        % {"value": period}
                    )
                delta = timedelta(**{_UNITS[match[2]]: int(match[1])})
                query["from_"] = _ms(now - delta)
                query["to"] = _ms(now) if options["to"] is None else _date_ms(options["to"], "--to")
            else:
                query["from_"] = _date_ms(options["from_"], "--from") if options["from_"] else None
                query["to"] = _date_ms(options["to"], "--to") if options["to"] else _ms(now)
        except ValueError as err:
            raise CommandError(_("Nothing was sent: %(error)s") % {"error": err}) from err
        return query

    def load_state(self, state_path: Path, output: Path) -> dict[str, Any]:
        given = [
            f"--{name.rstrip('_').replace('_', '-')}"
            for name in FILTERS
            if self.options[name] not in (None, [])
        ]
        given += [option for option in ("--period", "--format") if self.options[option.lstrip("-")]]
        if given:
            raise CommandError(
                _(
                    "--resume uses the filters and format of the interrupted "
                    "export; do not pass %(options)s."
                )
                % {"options": ", ".join(given)}
            )
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            if state.get("version") != STATE_VERSION:
                raise ValueError(_("unknown state file version"))
        except (OSError, ValueError) as err:
            raise CommandError(
                _("No interrupted export to resume at %(path)s (%(error)s).")
                % {"path": state_path, "error": err}
            ) from err
        if not output.exists() or output.stat().st_size < state["bytes"]:
            raise CommandError(
                _(
                    "%(path)s is shorter than the saved state says: it changed "
                    "since the interruption; start again with --force."
                )
                % {"path": output}
            )
        return state

    def walk(
        self,
        client: TriggerClient,
        list_kwargs: dict[str, Any],
        fmt: str,
        alias: str,
        query: dict[str, Any],
        output: str | None,
        state_path: Path | None,
        state: dict[str, Any] | None,
    ) -> None:
        count = state["count"] if state else 0
        cursor = state["cursor"] if state else None
        try:
            # The first page before the file is touched: bad filters are refused (nothing
            # sent), and an unreachable API leaves an existing file as it was.
            first = client.runs.list(**list_kwargs, limit=MAX_PAGE_SIZE, after=cursor)
        except InvalidRequestError as err:
            raise CommandError(_("Nothing was sent: %(error)s") % {"error": err}) from err
        except TriggerError as err:
            raise CommandError(_("Nothing was exported: %(error)s") % {"error": err}) from err
        stream: TextIO
        handle: BinaryIO | None = None
        if output:
            handle = open(output, "r+b" if state else "wb")  # closed below
            if state:
                handle.truncate(state["bytes"])  # drop a page written after the last state
                handle.seek(state["bytes"])
            stream = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        else:
            # The real stdout: rows are written as they are (OutputWrapper adds line endings).
            stream = cast(TextIO, self.stdout._out)
        writer = _Writer(stream, fmt)
        if not state:
            writer.header()
        progress = _Progress(
            self.stderr, enabled=self.options["progress"] and is_terminal(self.stderr), start=count
        )

        def save(next_cursor: str | None) -> None:
            if state_path is None:
                return
            stream.flush()
            assert handle is not None
            data = {
                "version": STATE_VERSION,
                "alias": alias,
                "format": fmt,
                "query": query,
                "cursor": next_cursor,
                "count": count,
                "output": output,
                "bytes": handle.tell(),
            }
            temporary = state_path.with_name(state_path.name + ".tmp")
            temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.replace(temporary, state_path)

        interrupted: BaseException | None = None
        try:
            save(cursor)
            for page in first.iter_pages():
                for run in page.data:
                    writer.row(run)
                count += len(page.data)
                save(page.next_cursor)
                progress.update(count)
        except (TriggerError, KeyboardInterrupt) as err:
            interrupted = err
        finally:
            progress.close()
            if output:
                stream.close()
            else:
                stream.flush()
        if interrupted is not None:
            if isinstance(interrupted, KeyboardInterrupt):
                reason = _("interrupted")
            else:
                reason = str(interrupted)
            if state_path is not None:
                message = _(
                    "Export stopped after %(count)d runs (%(reason)s). Run the same "
                    "command with --resume to continue."
                )
            else:
                message = _(
                    "Export stopped after %(count)d runs (%(reason)s). Use --output "
                    "FILE to be able to resume."
                )
            raise CommandError(message % {"count": count, "reason": reason}, returncode=EXIT_ERROR)
        if state_path is not None:
            state_path.unlink(missing_ok=True)
        if self.verbosity >= 1 and output:
            self.stderr.write(
                _("%(count)d runs written to %(path)s.") % {"count": count, "path": output}
            )


class _Writer:
    def __init__(self, stream: TextIO, fmt: str) -> None:
        self.stream = stream
        self.fmt = fmt
        self.csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None

    def header(self) -> None:
        if self.csv is not None:
            self.csv.writerow(CSV_COLUMNS)

    def row(self, run: RunListItem) -> None:
        if self.csv is None:
            self.stream.write(json.dumps(run.raw, ensure_ascii=False, separators=(",", ":")))
            self.stream.write("\n")
            return
        self.csv.writerow(
            [
                run.id,
                run.status.value if hasattr(run.status, "value") else run.status,
                run.task_identifier,
                run.version or "",
                _iso(run.created_at),
                _iso(run.updated_at),
                _iso(run.started_at),
                _iso(run.finished_at),
                _iso(run.delayed_until),
                _iso(run.expired_at),
                run.duration_ms,
                run.cost_in_cents,
                run.base_cost_in_cents,
                "true" if run.is_test else "false",
                ";".join(run.tags),
                run.idempotency_key or "",
                run.region or "",
                getattr(run.env, "name", "") or "",
            ]
        )


class _Progress:
    """One self-rewriting line on a terminal's stderr: the total is unknown to a cursor walk,
    so a count and a rate say all there is (no progress-bar dependency needed)."""

    def __init__(self, stream: Any, *, enabled: bool, start: int) -> None:
        self.stream = stream
        self.enabled = enabled
        self.start = start
        self.started = time.monotonic()
        self.shown = False

    def update(self, count: int) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (count - self.start) / elapsed
        self.stream.write(
            "\r"
            + _("%(count)s runs (%(rate)s/s)") % {"count": f"{count:,}", "rate": f"{rate:,.0f}"},
            ending="",
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("")


def _list_kwargs(query: dict[str, Any]) -> dict[str, Any]:
    """``client.runs.list`` arguments from the saved filters."""
    split = _split
    kwargs: dict[str, Any] = {
        "status": split(query["status"]),
        "task_identifier": split(query["task"]),
        "tag": split(query["tag"]),
        "version": split(query["version"]),
        "machine": split(query["machine"]),
        "region": split(query["region"]),
        "queue": split(query["queue"]),
        "batch": query["batch"],
        "schedule": query["schedule"],
        "bulk_action": query["bulk_action"],
        "is_test": query["is_test"],
        "from_": query["from_"],
        "to": query["to"],
    }
    if query.get("environment"):
        kwargs["environment"] = query["environment"]
    return {key: value for key, value in kwargs.items() if value not in (None, [])}


def _split(values: Iterable[str] | None) -> list[str]:
    return [item.strip() for value in values or () for item in value.split(",") if item.strip()]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _date_ms(text: str, option: str) -> int:
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is not None:
            moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise ValueError(
            _("%(option)s must be an ISO 8601 date or date and time, not %(value)r")
            % {"option": option, "value": text}
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _ms(moment)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""
