"""The plan: what one target needs so that it matches the sources.

``make_plan()`` is pure (sources + the remote list → ``Plan``); ``plan()`` makes the one list
request. Every name of the sources gets one ``Change``:

- ``create``: not in the environment;
- ``update``: the value differs, or the variable must become secret (``--secret``), or it is a
  secret whose value cannot be read back and ``overwrite_secrets`` was asked;
- ``unchanged``: same value (and secret where asked);
- ``secret``: a secret variable, read back as ``<redacted>``: it cannot be compared, so it is
  left alone unless ``overwrite_secrets``;

and every remote name absent from the sources is ``delete`` with ``prune``, else ``keep``.

A change's ``reason`` is a stable English note (it is in the command's JSON, and ``_apply``
compares it): marked with ``gettext_noop`` for the catalogs, translated where it is shown.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from django_trigger.client import TriggerClient
from django_trigger.types import EnvVar

from ._sources import Desired, Origin, Skipped
from ._targets import Target

__all__ = ["Action", "Change", "Plan", "make_plan", "plan"]


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SECRET = "secret"  # secret remote value: cannot be compared, left alone
    DELETE = "delete"
    KEEP = "keep"  # only in the environment, kept (no --prune)


@dataclass(frozen=True)
class Change:
    action: Action
    name: str
    value: str | None = field(default=None, repr=False)  # the sources' value
    remote_value: str | None = field(default=None, repr=False)  # as listed (maybe redacted)
    remote_exists: bool = False
    remote_secret: bool = False
    secret: bool = False  # sent with isSecret: true
    origin: Origin | None = None
    reason: str = ""

    @property
    def writes(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE)

    def to_dict(self, show_values: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action.value,
            "name": self.name,
            "reason": self.reason,
            "source": str(self.origin) if self.origin else None,
            "secret": self.secret or self.remote_secret,
            "value": None,
            "remote_value": None,
        }
        if show_values:
            data["value"] = self.value
            data["remote_value"] = self.remote_value
        return data


@dataclass
class Plan:
    target: Target
    changes: list[Change]
    skipped: list[Skipped] = field(default_factory=list)

    def of(self, *actions: Action) -> list[Change]:
        return [change for change in self.changes if change.action in actions]

    @property
    def creates(self) -> list[Change]:
        return self.of(Action.CREATE)

    @property
    def updates(self) -> list[Change]:
        return self.of(Action.UPDATE)

    @property
    def writes(self) -> list[Change]:
        return self.of(Action.CREATE, Action.UPDATE)

    @property
    def deletes(self) -> list[Change]:
        return self.of(Action.DELETE)

    @property
    def is_empty(self) -> bool:
        """Nothing to send: the target already matches the sources."""
        return not any(change.writes or change.action is Action.DELETE for change in self.changes)

    def counts(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts["skipped"] = len(self.skipped)
        return counts

    def to_dict(self, show_values: bool = False) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "changes": [change.to_dict(show_values) for change in self.changes],
            "skipped": [
                {"name": item.name, "reason": item.reason.value, "source": str(item.origin)}
                for item in self.skipped
            ],
            "counts": self.counts(),
        }


def make_plan(
    target: Target,
    desired: Desired,
    remote: Sequence[EnvVar],
    *,
    prune: bool = False,
    overwrite_secrets: bool = False,
) -> Plan:
    current = {var.name: var for var in remote}
    changes: list[Change] = []
    for name, want in desired.variables.items():
        have = current.get(name)
        common: dict[str, Any] = {"name": name, "value": want.value, "origin": want.origin}
        if have is None:
            changes.append(
                Change(Action.CREATE, secret=want.secret, reason=gettext_noop("new"), **common)
            )
            continue
        common.update(remote_value=have.value, remote_exists=True, remote_secret=have.is_secret)
        if have.is_redacted:
            if overwrite_secrets:
                changes.append(
                    Change(
                        Action.UPDATE,
                        secret=want.secret,
                        reason=gettext_noop("secret overwritten (--overwrite-secrets)"),
                        **common,
                    )
                )
            else:
                changes.append(
                    Change(
                        Action.SECRET,
                        secret=want.secret,
                        reason=gettext_noop("secret, cannot be compared"),
                        **common,
                    )
                )
        elif have.value != want.value:
            changes.append(
                Change(
                    Action.UPDATE,
                    secret=want.secret,
                    reason=gettext_noop("value differs"),
                    **common,
                )
            )
        elif want.secret and not have.is_secret:
            changes.append(
                Change(Action.UPDATE, secret=True, reason=gettext_noop("mark as secret"), **common)
            )
        else:
            changes.append(
                Change(
                    Action.UNCHANGED,
                    secret=want.secret,
                    reason=gettext_noop("same value"),
                    **common,
                )
            )
    skipped_names = {item.name for item in desired.skipped}
    for name, have in current.items():
        if name in desired.variables or name in skipped_names:
            continue
        common = {
            "name": name,
            "remote_value": have.value,
            "remote_exists": True,
            "remote_secret": have.is_secret,
        }
        if prune:
            changes.append(
                Change(Action.DELETE, reason=gettext_noop("not in the sources (--prune)"), **common)
            )
        else:
            changes.append(Change(Action.KEEP, reason=gettext_noop("not in the sources"), **common))
    changes.sort(key=lambda change: change.name)
    return Plan(target, changes, list(desired.skipped))


def plan(
    client: TriggerClient,
    target: Target,
    desired: Desired,
    *,
    prune: bool = False,
    overwrite_secrets: bool = False,
) -> Plan:
    """List ``target``'s variables (one request) and plan against them. ``client`` must
    already be the one for the target (``target_client``)."""
    remote = client.envvars.list(project_ref=target.project_ref, environment=target.environment)
    return make_plan(target, desired, remote, prune=prune, overwrite_secrets=overwrite_secrets)
