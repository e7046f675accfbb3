"""Applying a plan with the fewest requests, then checking the result.

1. Creates and updates go in one import call (``POST …/import``). Its ``override`` flag is
   global to the call, but only planned names are sent, so ``override=true`` (needed as soon
   as one name exists) overwrites nothing unplanned; a call holding only creates is sent with
   ``override=false``, so a variable someone created since the plan makes the server refuse
   the whole call (400, nothing written) instead of being overwritten. ``isSecret`` is global
   too: names to make secret go in a second import with ``isSecret: true``; the first omits
   the flag, which keeps an existing variable's flag and makes new ones non-secret (sending
   ``false`` would turn existing secrets into plain variables).
2. Deletions one by one (the API has no bulk delete), only after every import succeeded, and
   never a name that was not planned. The first failure stops them.
3. Verification: one more list, compared with what the plan promised.

Requests for a target: 1 list (plan) + 1 import (2 when some names are made secret) + one
per deletion + 1 list (verification, unless ``verify=False``), plus the client's retries.

A call whose answer was lost (``OutcomeUnknownError``, a dropped connection or a 5xx after
retries, or a retry refused because the lost attempt had already done the work: "already set"
for an import, "value not found" or 404 for a delete) is settled by reading the state back:
one list; when every change of that call is in place the run goes on and those names are
reported "already there" (``Outcome.ALREADY_THERE``), else it stops there as a failure (that
list then serves as the verification). The calls are made raw so that such retry answers reach
this module (the client would otherwise settle them with its own list, unreported).

On a failure, the verification list tells exactly which planned changes are in place; if that
list fails too, changes confirmed by a successful answer are reported applied, the failed
call's as unknown, the rest as not applied.

Progress messages and ``failed_step`` are translated (gettext); a ``Difference.problem`` is a
stable English note like a plan's reason (``gettext_noop``), translated where it is shown.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from django_trigger.client import TriggerClient
from django_trigger.exceptions import (
    ApiConnectionError,
    ApiError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OutcomeUnknownError,
    TriggerError,
)
from django_trigger.types import EnvVar

from ._plan import Action, Change, Plan

__all__ = [
    "ApplyResult",
    "Batch",
    "Difference",
    "Outcome",
    "Verification",
    "apply",
    "import_batches",
    "verify",
]

Progress = Callable[[str], None]


class Outcome(str, enum.Enum):
    APPLIED = "applied"  # written: a success answer, or the verification list, confirms it
    ALREADY_THERE = "already there"  # its answer was lost; reading back found it in place
    NOT_APPLIED = "not applied"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Batch:
    """One import call."""

    changes: tuple[Change, ...]
    override: bool
    is_secret: bool | None  # None: the flag is omitted

    @property
    def names(self) -> list[str]:
        return [change.name for change in self.changes]

    @property
    def variables(self) -> dict[str, str]:
        return {change.name: change.value or "" for change in self.changes}


def import_batches(plan: Plan) -> list[Batch]:
    """The import calls for ``plan``'s creates and updates: at most two."""
    batches = []
    for secret in (False, True):
        changes = tuple(change for change in plan.writes if change.secret is secret)
        if changes:
            override = any(change.action is Action.UPDATE for change in changes)
            batches.append(Batch(changes, override, True if secret else None))
    return batches


@dataclass(frozen=True)
class Difference:
    name: str
    problem: str


@dataclass
class Verification:
    """How the environment compares with the plan after applying it."""

    differences: list[Difference] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)  # secrets: value not readable
    error: str | None = None  # the verification list itself failed

    @property
    def ok(self) -> bool:
        return self.error is None and not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "differences": [{"name": d.name, "problem": d.problem} for d in self.differences],
            "unverifiable": list(self.unverifiable),
            "error": self.error,
        }


@dataclass
class ApplyResult:
    plan: Plan
    outcomes: dict[str, Outcome]  # every planned create/update/delete
    requests: int
    error: TriggerError | None = None
    failed_step: str | None = None  # "import of 3 variables", "delete OLD_NAME" (translated)
    verification: Verification | None = None

    def names(self, outcome: Outcome) -> list[str]:
        return [name for name, value in self.outcomes.items() if value is outcome]

    @property
    def applied(self) -> list[str]:
        return self.names(Outcome.APPLIED)

    @property
    def already_there(self) -> list[str]:
        return self.names(Outcome.ALREADY_THERE)

    @property
    def not_applied(self) -> list[str]:
        return self.names(Outcome.NOT_APPLIED)

    @property
    def unknown(self) -> list[str]:
        return self.names(Outcome.UNKNOWN)

    @property
    def ok(self) -> bool:
        return self.error is None and (self.verification is None or self.verification.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "applied": self.applied,
            "already_there": self.already_there,
            "not_applied": self.not_applied,
            "unknown": self.unknown,
            "error": str(self.error) if self.error else None,
            "failed_step": self.failed_step,
            "verification": self.verification.to_dict() if self.verification else None,
            "requests": self.requests,
        }


class _Where(TypedDict):
    """The target's keywords for ``client.envvars`` calls."""

    project_ref: str | None
    environment: str | None


def apply(
    client: TriggerClient,
    plan: Plan,
    *,
    verify_after: bool = True,
    progress: Progress | None = None,
) -> ApplyResult:
    """Apply ``plan`` to its target; never raises ``TriggerError`` (it is in the result).
    ``client`` must already be the one for the target (``target_client``)."""
    say = progress or (lambda message: None)
    target = plan.target
    where = _Where(project_ref=target.project_ref, environment=target.environment)
    planned = [*plan.writes, *plan.deletes]
    raw = client.envvars.with_raw_response
    confirmed: set[str] = set()
    already: set[str] = set()  # a lost answer, settled by reading back
    failed: list[str] = []
    requests = 0
    error: TriggerError | None = None
    failed_step: str | None = None
    listed: Sequence[EnvVar] | None = None  # the state read back after the failure

    def settle(err: TriggerError, step: str, changes: Sequence[Change]) -> bool:
        """After a call whose answer was lost: whether reading back (one list) finds every
        change of the call in place."""
        nonlocal requests, listed
        if not _answer_lost(err):
            return False
        say(_("the answer to the %(step)s was lost: reading the variables back") % {"step": step})
        requests += 1
        try:
            now = client.envvars.list(**where)
        except TriggerError:
            return False
        by_name = {var.name: var for var in now}
        if all(_holds(change, by_name) for change in changes):
            already.update(change.name for change in changes)
            return True
        listed = now
        return False

    for batch in import_batches(plan):
        count = len(batch.changes)
        if batch.is_secret:
            step = ngettext(
                "import of %(count)d variable as secrets",
                "import of %(count)d variables as secrets",
                count,
            ) % {"count": count}
        else:
            step = ngettext(
                "import of %(count)d variable", "import of %(count)d variables", count
            ) % {"count": count}
        say(
            _("%(step)s (override=%(override)s)")
            % {"step": step, "override": "true" if batch.override else "false"}
        )
        try:
            answer = raw.upload(
                batch.variables, override=batch.override, is_secret=batch.is_secret, **where
            )
        except TriggerError as err:
            requests += _attempts(err)
            if settle(err, step, batch.changes):
                continue
            error, failed_step, failed = err, step, batch.names
            break
        requests += _attempts(answer)
        confirmed.update(batch.names)

    if error is None:
        for change in plan.deletes:
            step = _("delete %(name)s") % {"name": change.name}
            say(step)
            try:
                answer = raw.delete(change.name, **where)
            except NotFoundError as err:
                requests += _attempts(err)
                if not err.retried_after_unknown_outcome:
                    already.add(change.name)  # deleted by someone else since the plan
                    continue
                if settle(err, step, [change]):
                    continue
                error, failed_step, failed = err, step, [change.name]
                break
            except TriggerError as err:
                requests += _attempts(err)
                if settle(err, step, [change]):
                    continue
                error, failed_step, failed = err, step, [change.name]
                break
            requests += _attempts(answer)
            confirmed.add(change.name)

    verification = None
    outcomes: dict[str, Outcome] = {}
    if verify_after or error is not None:
        now: Sequence[EnvVar] | None = listed
        if now is None:
            say(_("verification (listing the variables again)"))
            requests += 1
            try:
                now = client.envvars.list(**where)
            except TriggerError as err:
                verification = Verification(error=str(err))
        if now is not None:
            verification = verify(plan, now)
            by_name = {var.name: var for var in now}
            for change in planned:
                state = _holds(change, by_name)
                if state is None:  # a secret overwritten: only the answer tells
                    state = True if change.name in confirmed | already else None
                outcomes[change.name] = (
                    Outcome.UNKNOWN
                    if state is None
                    else Outcome.NOT_APPLIED
                    if not state
                    else Outcome.ALREADY_THERE
                    if change.name in already
                    else Outcome.APPLIED
                )
    if not outcomes:
        for change in planned:
            outcomes[change.name] = (
                Outcome.APPLIED
                if change.name in confirmed
                else Outcome.ALREADY_THERE
                if change.name in already
                else Outcome.UNKNOWN
                if change.name in failed
                else Outcome.NOT_APPLIED
            )
    return ApplyResult(plan, outcomes, requests, error, failed_step, verification)


def _answer_lost(error: TriggerError) -> bool:
    """Whether the server may have done what the call asked although the call failed: the
    answer was lost (a dropped connection, a timeout, a 5xx or 409 after the retries), or a
    retry was refused because the lost attempt had done the work (400 "already set", 400
    "value not found", 404)."""
    if isinstance(
        error, (OutcomeUnknownError, ApiConnectionError, InternalServerError, ConflictError)
    ):
        return True
    return (
        isinstance(error, ApiError)
        and error.retried_after_unknown_outcome
        and error.status in (400, 404)
    )


def _attempts(outcome: Any) -> int:
    """Requests a call made: for an answer (a ``RawResponse``), urllib3's retry history
    tells; an error that answers a retry after a lost answer counts two (the lost attempt and
    the retry), any other error one."""
    if isinstance(outcome, TriggerError):
        return 2 if getattr(outcome, "retried_after_unknown_outcome", False) else 1
    retries = getattr(outcome.http_response.raw, "retries", None)
    return 1 + len(getattr(retries, "history", ()) or ())


def verify(plan: Plan, remote: Sequence[EnvVar]) -> Verification:
    """Compare the environment (``remote``, listed after applying) with what ``plan`` promised:
    every name of the sources present with its value (secret where asked), every pruned name
    gone. Secret values cannot be read back: they are checked for presence only."""
    now = {var.name: var for var in remote}
    result = Verification()
    for change in plan.changes:
        if change.action is Action.KEEP:
            continue
        state = _holds(change, now)
        if state is None:
            result.unverifiable.append(change.name)
        elif not state:
            result.differences.append(Difference(change.name, _problem(change, now)))
    return result


def _holds(change: Change, now: dict[str, EnvVar]) -> bool | None:
    """Whether ``change``'s promise holds in ``now`` (``None``: cannot be told)."""
    have = now.get(change.name)
    if change.action is Action.DELETE:
        return have is None
    if have is None:
        return False
    if change.action is Action.SECRET:
        return None if have.is_redacted else have.value == change.value
    if change.secret and not have.is_secret:
        return False
    if have.is_redacted:
        if change.action is Action.CREATE or change.reason == "mark as secret":
            return True  # it exists (it did not) / it became secret (the value was equal)
        return None  # an overwritten secret, or a variable made secret by someone else
    return have.value == change.value


def _problem(change: Change, now: dict[str, EnvVar]) -> str:
    have = now.get(change.name)
    if change.action is Action.DELETE:
        return gettext_noop("still present")
    if have is None:
        return gettext_noop("missing")
    if change.secret and not have.is_secret:
        return gettext_noop("not secret")
    return gettext_noop("value differs")
