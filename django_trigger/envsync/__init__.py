"""Environment variable sync: sources → plan → apply → verify (``trigger_sync_envvars``).

The logic of ``manage.py trigger_sync_envvars`` without any printing: it reads files and calls
the client, and returns data that the command renders (or that you can use directly)::

    from django_trigger import get_client
    from django_trigger import envsync

    desired = envsync.collect(envsync.Sources(env_files=[".env.prod"], secret_names=["DB_URL"]))
    client = get_client("ops")                                   # a personal access token
    for target in envsync.resolve_targets(client, environments=["staging", "prod"]):
        with envsync.target_client(client, target) as target_client:
            plan = envsync.plan(target_client, target, desired, prune=False)
            if not plan.is_empty:
                result = envsync.apply(target_client, plan)
                assert result.ok, result.to_dict()

Private modules, everything public is exported here: ``_sources`` (dotenv files, settings,
process environment → ``Desired``), ``_targets`` (which environments; the wrong-environment
guard), ``_plan`` (``Plan`` of ``Change``s), ``_apply`` (import, deletions, verification →
``ApplyResult``).
"""

from __future__ import annotations

from ._apply import ApplyResult, Difference, Outcome, Verification, apply, import_batches, verify
from ._plan import Action, Change, Plan, make_plan, plan
from ._sources import (
    MAX_ENTRY_BYTES,
    Definition,
    Desired,
    DesiredVar,
    Origin,
    Skipped,
    SkipReason,
    SourceError,
    SourceKind,
    Sources,
    collect,
    read_dotenv,
)
from ._targets import Target, TargetError, resolve_targets, target_client

__all__ = [
    "MAX_ENTRY_BYTES",
    "Action",
    "ApplyResult",
    "Change",
    "Definition",
    "Desired",
    "DesiredVar",
    "Difference",
    "Origin",
    "Outcome",
    "Plan",
    "SkipReason",
    "Skipped",
    "SourceError",
    "SourceKind",
    "Sources",
    "Target",
    "TargetError",
    "Verification",
    "apply",
    "collect",
    "import_batches",
    "make_plan",
    "plan",
    "read_dotenv",
    "resolve_targets",
    "target_client",
    "verify",
]
