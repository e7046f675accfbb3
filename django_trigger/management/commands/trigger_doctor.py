"""``manage.py trigger_doctor``: what ``manage.py check`` cannot know offline, asked of the API
for each configured alias.

Examples::

    python manage.py trigger_doctor                   # every alias
    python manage.py trigger_doctor --client ops -e prod
    python manage.py trigger_doctor --format json     # for monitoring (exit 1 on any error)

Per alias, at most three requests, none retried (the doctor reports what it sees):

1. ``GET /api/v1/projects/{PROJECT_REF}/{ENVIRONMENT}`` (with the preview branch if any):
   the API answers at ``API_URL`` and how fast, the token is accepted, it belongs to
   ``PROJECT_REF`` and ``ENVIRONMENT``, the preview branch exists, and the server's ``Date``
   against this machine's clock. Skipped without a project ref.
2. ``GET /api/v1/runs?page[size]=1`` (a personal access token: the project's runs endpoint):
   the credential can read runs, and the rate-limit headroom (``x-ratelimit-*``) of the API
   bucket that every client call draws from.
3. ``GET /api/v1/deployments/current`` (secret keys only): the version the environment runs.

Exit codes: 0 no error (warnings allowed), 1 any error, 2 wrong usage.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_trigger.client import TriggerClient
from django_trigger.clients import get_client
from django_trigger.conf import trigger_settings
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
)
from django_trigger.management._common import (
    EXIT_ERROR,
    EXIT_OK,
    TranslatedCommand,
    add_client_arguments,
    request_logging,
)

T = TypeVar("T")

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"
SLOW_SECONDS = 1.5
# The Date header has a one-second resolution: below this the clocks agree.
SKEW_WARNING_SECONDS = 5.0
SKEW_ERROR_SECONDS = 300.0
LOW_HEADROOM = 0.1


@dataclass
class Finding:
    check: str
    status: str
    message: str
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    """What one request told, answered or not."""

    seconds: float
    headers: dict[str, str]
    local_time: datetime  # this machine's clock halfway through the request
    error: ApiError | None = None


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Check each configured Trigger.dev client against the API: reachable, token accepted "
        "for the configured project and environment, preview branch, clock skew, rate-limit "
        "headroom, deployed version. Exit 1 on any error."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_client_arguments(parser)
        parser.set_defaults(client=None)
        parser.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help=_("json: one JSON document on stdout (for monitoring)."),
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_("Accepted for symmetry with the other commands (the doctor never asks)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        as_json = options["format"] == "json"
        aliases = [options["client"]] if options["client"] else list(trigger_settings.clients)
        if not aliases:
            raise CommandError(_("No Trigger.dev client is configured (TRIGGER setting)."))
        reports = []
        with request_logging(self.verbosity, self.stderr if as_json else self.stdout):
            for alias in aliases:
                reports.append(self.examine(alias, options["environment"]))
        errors = sum(1 for r in reports for f in r["findings"] if f.status == ERROR)
        warnings = sum(1 for r in reports for f in r["findings"] if f.status == WARNING)
        code = EXIT_ERROR if errors else EXIT_OK
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": code == EXIT_OK,
                        "exit_code": code,
                        "errors": errors,
                        "warnings": warnings,
                        "clients": [
                            {**report, "findings": [asdict(f) for f in report["findings"]]}
                            for report in reports
                        ],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            for report in reports:
                self.show(report)
            summary = _("%(errors)d error(s), %(warnings)d warning(s).") % {
                "errors": errors,
                "warnings": warnings,
            }
            self.stdout.write(
                summary,
                self.style.ERROR
                if errors
                else self.style.WARNING
                if warnings
                else self.style.SUCCESS,
            )
        if code != EXIT_OK:
            raise CommandError(
                _("trigger_doctor found %(count)d error(s).") % {"count": errors}, returncode=code
            )

    # -- one alias ---------------------------------------------------------------------------

    def examine(self, alias: str, environment: str | None) -> dict[str, Any]:
        report: dict[str, Any] = {
            "alias": alias,
            "api_url": None,
            "token": None,
            "environment": None,
            "findings": [],
        }
        findings: list[Finding] = report["findings"]
        try:
            configured = get_client(alias)
            if environment is not None:
                configured = configured.with_options(environment=environment)
            # No retries: the doctor reports what the API answers, once.
            client = configured.with_options(retry={"max_attempts": 1})
        except ConfigurationError as err:
            findings.append(
                Finding(
                    "configuration",
                    ERROR,
                    str(err),
                    _("Fix the TRIGGER setting (manage.py check lists every problem)."),
                )
            )
            return report
        report.update(
            api_url=client.base_url,
            token=client.redacted_token,
            environment=client.environment,
            project_ref=client.project_ref,
            preview_branch=client.preview_branch,
        )
        try:
            self.run_checks(client, findings)
        finally:
            client.close()
        return report

    def run_checks(self, client: TriggerClient, findings: list[Finding]) -> None:
        first: Answer | None = None
        identity: Answer | None = None
        # A secret key refused by the project route: settled by the runs list (below).
        doubtful: list[Finding] = []
        if client.project_ref and client.environment:
            identity, project = _ask(lambda: client.projects.with_raw_response.environment())
            first = identity
            if _unreachable(identity, client, findings):
                return
            findings.append(_api_finding(identity, client))
            found = _identity_findings(identity, project, client)
            refused = any(f.check == "credentials" and f.status == ERROR for f in found)
            if refused and not client.uses_personal_token:
                # Servers before the route took secret keys (self-hosted) refuse every key
                # there: the runs list tells whether this one is refused everywhere.
                doubtful = found
            else:
                findings.extend(found)
                if isinstance(identity.error, AuthenticationError):
                    # Every other request would be refused the same way.
                    findings.append(_clock_finding(identity))
                    return
        else:
            findings.append(
                Finding(
                    "project",
                    WARNING,
                    _(
                        "No PROJECT_REF or ENVIRONMENT: which project and environment the token "
                        "belongs to is not checked."
                    ),
                    _("Set PROJECT_REF (proj_…) and ENVIRONMENT."),
                )
            )

        if client.uses_personal_token and not client.environment:
            return  # listing runs with a personal access token needs an environment
        runs_answer, _page = _ask(lambda: client.runs.with_raw_response.list(limit=1))
        if first is None:
            first = runs_answer
            if _unreachable(runs_answer, client, findings):
                return
            findings.append(_api_finding(runs_answer, client))
        if doubtful:
            if isinstance(runs_answer.error, AuthenticationError):
                findings.extend(doubtful)
                findings.append(_clock_finding(first))
                return
            assert identity is not None and identity.error is not None
            findings.append(Finding("credentials", OK, _("The secret key is accepted.")))
            findings.append(
                Finding(
                    "project",
                    WARNING,
                    _(
                        "This API does not tell which project a secret key belongs to (GET "
                        "/api/v1/projects/%(ref)s/%(env)s: %(error)s)."
                    )
                    % {
                        "ref": client.project_ref,
                        "env": client.environment,
                        "error": identity.error.message,
                    },
                    _(
                        "An older (self-hosted) version: check PROJECT_REF against the dashboard, "
                        "or run the doctor with a personal access token."
                    ),
                )
            )
        findings.append(_runs_finding(runs_answer, client, identity))
        findings.append(_clock_finding(first))
        findings.append(_rate_limit_finding(runs_answer))

        if client.uses_personal_token:
            findings.append(
                Finding(
                    "deployment",
                    SKIPPED,
                    _("The current deployment can only be read with a secret key."),
                    _("Configure the environment's secret key (tr_dev_…, tr_prod_…) to check it."),
                )
            )
        else:
            answer, deployment = _ask(lambda: client.deployments.current())
            findings.append(_deployment_finding(answer, deployment, client))

    # -- output ------------------------------------------------------------------------------

    def show(self, report: dict[str, Any]) -> None:
        where = ", ".join(
            str(part)
            for part in (
                report["api_url"],
                report["token"],
                report.get("project_ref"),
                report.get("environment"),
                report.get("preview_branch"),
            )
            if part
        )
        self.stdout.write(
            f"{report['alias']} ({where})" if where else report["alias"], self.style.MIGRATE_HEADING
        )
        styles: dict[str, Callable[[str], str]] = {
            OK: self.style.SUCCESS,
            WARNING: self.style.WARNING,
            ERROR: self.style.ERROR,
            SKIPPED: self.style.NOTICE,
        }
        labels = {OK: _("ok"), WARNING: _("warning"), ERROR: _("error"), SKIPPED: _("skipped")}
        for finding in report["findings"]:
            if finding.status == OK and self.verbosity < 1:
                continue
            label = labels[finding.status].ljust(8)
            self.stdout.write(
                f"  {label} {finding.check:<12} {finding.message}", styles[finding.status]
            )
            if finding.hint and finding.status != OK:
                self.stdout.write("           " + _("hint: %(hint)s") % {"hint": finding.hint})


# -- the checks, each from one answer --------------------------------------------------------


def _ask(call: Callable[[], T]) -> tuple[Answer, T | None]:
    """Make one request; its timing, headers and error (if any), and its result."""
    started_wall = time.time()
    started = time.perf_counter()
    result: Any = None
    error: ApiError | None = None
    try:
        result = call()
        headers = _headers_of(result)
    except ApiError as err:
        error = err
        headers = dict(err.headers)
    seconds = time.perf_counter() - started
    midpoint = datetime.fromtimestamp(started_wall + seconds / 2, tz=timezone.utc)
    answer = Answer(seconds, headers, midpoint, error)
    if result is not None and hasattr(result, "parse"):
        result = result.parse()
    return answer, result


def _headers_of(result: Any) -> dict[str, str]:
    headers = getattr(result, "headers", None)
    return {k.lower(): v for k, v in headers.items()} if headers is not None else {}


def _unreachable(answer: Answer, client: TriggerClient, findings: list[Finding]) -> bool:
    if not isinstance(answer.error, ApiConnectionError):
        return False
    findings.append(
        Finding(
            "api",
            ERROR,
            _("No answer from %(url)s after %(seconds).1f s: %(error)s")
            % {"url": client.base_url, "seconds": answer.seconds, "error": answer.error.message},
            _("Check API_URL, the network (proxy, firewall, DNS) and the service status."),
            {"seconds": round(answer.seconds, 3)},
        )
    )
    return True


def _api_finding(answer: Answer, client: TriggerClient) -> Finding:
    details = {"seconds": round(answer.seconds, 3)}
    message = _("%(url)s answered in %(ms)d ms.") % {
        "url": client.base_url,
        "ms": answer.seconds * 1000,
    }
    if answer.seconds > SLOW_SECONDS:
        return Finding(
            "api",
            WARNING,
            message,
            _("Slow answers: check the network path to the API (or raise TIMEOUT)."),
            details,
        )
    return Finding("api", OK, message, details=details)


def _identity_findings(answer: Answer, project: Any, client: TriggerClient) -> list[Finding]:
    kind = _("personal access token") if client.uses_personal_token else _("secret key")
    where = {"ref": client.project_ref, "env": client.environment, "branch": client.preview_branch}
    error = answer.error
    if error is None:
        found = [
            Finding("credentials", OK, _("The %(kind)s is accepted.") % {"kind": kind}),
            Finding(
                "project",
                OK,
                _("Project %(name)s (%(ref)s), environment %(env)s.")
                % {**where, "name": json.dumps(project.name, ensure_ascii=False)},
                details={
                    "name": project.name,
                    "project_ref": client.project_ref,
                    "environment": client.environment,
                },
            ),
        ]
        if client.preview_branch:
            found.append(Finding("branch", OK, _("Branch %(branch)s exists.") % where))
        return found
    text = error.message
    lowered = text.lower()
    credentials_ok = Finding("credentials", OK, _("The %(kind)s is accepted.") % {"kind": kind})
    if client.preview_branch and "branch" in lowered:
        return [
            Finding(
                "branch",
                ERROR,
                _("Branch %(branch)s of %(env)s was refused: %(error)s") % {**where, "error": text},
                _(
                    "Check PREVIEW_BRANCH: the branch must exist and not be archived (it is "
                    "created by deploying it)."
                ),
            ),
        ]
    if isinstance(error, AuthenticationError):
        return [
            Finding(
                "credentials",
                ERROR,
                _("The API refused the %(kind)s: %(error)s") % {"kind": kind, "error": text},
                _(
                    "Copy the key from the dashboard's API keys page of this environment (it may "
                    "have been regenerated), or create a new personal access token."
                ),
            )
        ]
    if "project ref" in lowered:
        return [
            credentials_ok,
            Finding(
                "project",
                ERROR,
                _("The secret key belongs to another project than PROJECT_REF %(ref)s.") % where,
                _(
                    "Use this project's key, or set PROJECT_REF to the key's project (dashboard: "
                    "Project settings)."
                ),
            ),
        ]
    if "environment slug" in lowered or "environment not found" in lowered:
        return [
            credentials_ok,
            Finding(
                "project",
                ERROR,
                _("Project %(ref)s has no environment %(env)s for this token: %(error)s")
                % {**where, "error": text},
                _(
                    "Check ENVIRONMENT (dev, staging, prod, preview); staging and preview exist "
                    "only once created in the dashboard."
                ),
            ),
        ]
    if isinstance(error, NotFoundError):
        return [
            credentials_ok,
            Finding(
                "project",
                ERROR,
                _("Project %(ref)s is not visible to this token: %(error)s")
                % {**where, "error": text},
                _("Check PROJECT_REF, and that the token's user is a member of the project."),
            ),
        ]
    if isinstance(error, PermissionDeniedError):
        return [
            credentials_ok,
            Finding(
                "project",
                WARNING,
                _("The token may not read this environment's details: %(error)s") % {"error": text},
                _("A restricted key lacks a scope; the project and environment are not checked."),
            ),
        ]
    return [
        Finding(
            "project",
            ERROR,
            _("Unexpected answer: %(error)s") % {"error": str(error)},
            _("Run again with -v 2 to see the request."),
        )
    ]


def _runs_finding(answer: Answer, client: TriggerClient, identity: Answer | None) -> Finding:
    error = answer.error
    if error is None:
        return Finding("runs", OK, _("Runs can be listed."))
    if isinstance(error, ApiConnectionError):
        return Finding("runs", ERROR, _("No answer: %(error)s") % {"error": error.message})
    if isinstance(error, AuthenticationError) and identity is None:
        return Finding(
            "credentials",
            ERROR,
            _("The API refused the token: %(error)s") % {"error": error.message},
            _(
                "Copy the key from the dashboard's API keys page of this environment (it may have "
                "been regenerated)."
            ),
        )
    if isinstance(error, PermissionDeniedError):
        return Finding(
            "runs",
            WARNING,
            _("The token may not list runs: %(error)s") % {"error": error.message},
            _("A restricted key lacks the read:runs scope."),
        )
    return Finding(
        "runs",
        ERROR,
        _("Listing runs failed: %(error)s") % {"error": str(error)},
        _("Run again with -v 2 to see the request."),
    )


def _clock_finding(answer: Answer) -> Finding:
    raw = answer.headers.get("date")
    try:
        server = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        server = None
    if server is None or server.tzinfo is None:
        return Finding("clock", SKIPPED, _("The answer had no usable Date header."))
    skew = (server - answer.local_time).total_seconds()
    details = {"skew_seconds": round(skew, 1)}
    message = _("This machine's clock is %(seconds).0f s %(direction)s the API's.") % {
        "seconds": abs(skew),
        "direction": _("behind") if skew > 0 else _("ahead of"),
    }
    if abs(skew) < SKEW_WARNING_SECONDS:
        return Finding(
            "clock",
            OK,
            _("In step with the API's clock (%(skew)+.0f s).") % {"skew": skew},
            details=details,
        )
    hint = _("Synchronise the clock (NTP): delays, periods and token expiry are computed from it.")
    status = ERROR if abs(skew) >= SKEW_ERROR_SECONDS else WARNING
    return Finding("clock", status, message, hint, details)


def _rate_limit_finding(answer: Answer) -> Finding:
    headers = answer.headers
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
    except (KeyError, ValueError):
        return Finding("rate_limit", SKIPPED, _("The answer had no x-ratelimit headers."))
    details: dict[str, Any] = {"limit": limit, "remaining": remaining}
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        details["reset"] = datetime.fromtimestamp(int(reset) / 1000, tz=timezone.utc).isoformat()
    message = _("%(remaining)d of %(limit)d requests left in the bucket.") % details
    if limit and remaining < limit * LOW_HEADROOM:
        return Finding(
            "rate_limit",
            WARNING,
            message,
            _(
                "Something else spends this environment's requests (the bucket is per "
                "environment): look for a busy loop or a batch job."
            ),
            details,
        )
    return Finding("rate_limit", OK, message, details=details)


def _deployment_finding(answer: Answer, deployment: Any, client: TriggerClient) -> Finding:
    error = answer.error
    if error is None:
        details = {
            "version": deployment.version,
            "short_code": deployment.short_code,
            "status": deployment.status,
            "deployed_at": deployment.deployed_at.isoformat() if deployment.deployed_at else None,
        }
        return Finding(
            "deployment",
            OK,
            _("Version %(version)s (%(short_code)s, %(status)s) is current.") % details,
            details=details,
        )
    if isinstance(error, NotFoundError):
        if client.environment == "dev":
            return Finding(
                "deployment",
                OK,
                _("No deployment: the dev environment runs tasks from `trigger.dev dev`."),
            )
        return Finding(
            "deployment",
            WARNING,
            _("No deployment is current in %(env)s: triggered runs wait for one.")
            % {"env": client.environment},
            _("Deploy the tasks (npx trigger.dev deploy)."),
        )
    if isinstance(error, ApiConnectionError):
        return Finding("deployment", ERROR, _("No answer: %(error)s") % {"error": error.message})
    return Finding(
        "deployment",
        WARNING,
        _("Could not read the current deployment: %(error)s") % {"error": str(error)},
    )
