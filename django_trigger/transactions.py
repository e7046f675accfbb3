"""Trigger a task once the database transaction commits.

    from django.db import transaction
    from django_trigger.transactions import trigger_on_commit

    with transaction.atomic():
        order = Order.objects.create(...)
        trigger_on_commit("fulfil-order", {"order_id": order.pk})

The trigger is sent by ``transaction.on_commit``: never if the transaction (or the savepoint
it was registered in) rolls back, so a task never looks for rows that do not exist. Outside a
transaction (autocommit) it is sent at once.

Everything is checked when you call it (alias, payload, options), inside the transaction, so
a bad call fails there instead of after the commit. The payload is copied then, and the run
idempotency key is fixed then (a random one unless you pass yours): a commit hook that runs
twice, or a retry after a lost answer, cannot start a second run. One request
(``POST /api/v1/tasks/{task}/trigger``) after the commit.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import django
from django.db import DEFAULT_DB_ALIAS, transaction

from django_trigger.clients import get_client
from django_trigger.conf import DEFAULT_ALIAS
from django_trigger.exceptions import InvalidRequestError
from django_trigger.resources.tasks import TriggerOptions
from django_trigger.types import TriggerResult

__all__ = ["DeferredTrigger", "trigger_on_commit"]

logger = logging.getLogger("django_trigger.transactions")
_HAS_ROBUST = django.VERSION >= (5, 0)  # on_commit(robust=) is new in Django 5.0


@dataclass
class DeferredTrigger:
    """What ``trigger_on_commit`` scheduled. ``result`` is set once the commit hook ran (and
    ``error`` when it failed with ``robust=True``)."""

    task_identifier: str
    idempotency_key: str
    result: TriggerResult | None = None
    error: Exception | None = field(default=None, repr=False)

    @property
    def sent(self) -> bool:
        return self.result is not None


def trigger_on_commit(
    task_identifier: str,
    payload: Any = None,
    *,
    alias: str = DEFAULT_ALIAS,
    using: str | None = None,
    robust: bool = False,
    options: TriggerOptions | None = None,
    **option_kwargs: Any,
) -> DeferredTrigger:
    """Trigger ``task_identifier`` with ``payload`` after the current transaction on database
    ``using`` commits. Options as for ``client.tasks.trigger`` (``idempotency_key``,
    ``delay``, ``tags``, …). With ``robust=True`` a failing trigger is logged (and kept in
    ``.error``) instead of raised, so the commit hooks after it still run."""
    client = get_client(alias)  # a missing or bad alias fails now
    if options is not None and option_kwargs:
        raise InvalidRequestError("pass options= or option keywords, not both")
    try:
        opts = options or TriggerOptions(**option_kwargs)
    except TypeError as exc:
        raise InvalidRequestError(f"unknown trigger option: {exc}") from None
    key = opts.idempotency_key or f"django-on-commit-{uuid.uuid4()}"
    opts = dataclasses.replace(opts, idempotency_key=key)
    opts.to_wire()  # every option checked now
    try:
        frozen = json.loads(json.dumps(payload))
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"the payload must be JSON-serialisable: {exc}") from None
    if not isinstance(task_identifier, str) or not task_identifier.strip():
        raise InvalidRequestError("task_identifier must be a non-empty string")

    deferred = DeferredTrigger(task_identifier, key)

    def send() -> None:
        try:
            deferred.result = client.tasks.trigger(task_identifier, frozen, options=opts)
        except Exception as exc:
            deferred.error = exc
            if robust and not _HAS_ROBUST:  # Django 4.2: log as Django 5's robust hooks do
                logger.exception("trigger_on_commit(%r) failed after the commit", task_identifier)
                return
            raise

    if _HAS_ROBUST:
        transaction.on_commit(send, using=using or DEFAULT_DB_ALIAS, robust=robust)
    else:
        transaction.on_commit(send, using=using or DEFAULT_DB_ALIAS)
    return deferred
