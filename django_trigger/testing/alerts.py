"""Alert webhooks from the emulator, signed as Trigger.dev signs them (docs/API-ADDENDUM.md §2).

    delivery = emu.deliver_alert(live_server_url + "/trigger/webhooks/", "alert.run.failed",
                                 secret="whsec_test", run_id="run_…")
    delivery.statuses      # one HTTP status per attempt, e.g. [200]

Payloads are built from the emulated world (the default project's dev environment, a run, its
current deployment) in the shapes of the SDK's ``Webhook`` schema; ``overrides`` is merged into
the payload (nested dicts key by key). Delivery is what the service's ``v3.deliverAlert`` job
does: ``POST`` with ``content-type: application/json`` and ``x-trigger-signature-hmacsha256``
(lowercase hex HMAC-SHA256 of the body with the secret), a 5 s timeout per attempt
(``timeout=`` gives another: a test's receiver on a loaded machine can be slower than that while
answering right), and up to 3 attempts with the same body while the answer is not 2xx (here
without the job's backoff delay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from .resources.runs import FAILED_STATUSES, V2
from .world import format_date

if TYPE_CHECKING:  # pragma: no cover
    from .world import Environment, World

__all__ = ["EVENT_TYPES", "Delivery", "build_payload", "deliver", "sign"]

EVENT_TYPES = (
    "alert.run.failed",
    "alert.deployment.success",
    "alert.deployment.failed",
    "alert.error",
)
SIGNATURE_HEADER = "x-trigger-signature-hmacsha256"
MAX_ATTEMPTS = 3  # the service's v3.deliverAlert retry.maxAttempts
TIMEOUT = 5.0
SDK_VERSION = "4.8.3"
DASHBOARD = "https://cloud.trigger.dev"
_NANOID = string.ascii_letters + string.digits + "_-"
# TaskRunInternalError.code of the SDK's schema (packages/core/src/v3/schemas/common.ts).
INTERNAL_ERROR_CODES = frozenset(
    """COULD_NOT_FIND_EXECUTOR COULD_NOT_FIND_TASK
COULD_NOT_IMPORT_TASK CONFIGURED_INCORRECTLY TASK_ALREADY_RUNNING TASK_EXECUTION_FAILED
TASK_EXECUTION_ABORTED TASK_PROCESS_EXITED_WITH_NON_ZERO_CODE TASK_PROCESS_SIGKILL_TIMEOUT
TASK_PROCESS_SIGSEGV TASK_PROCESS_SIGTERM TASK_PROCESS_OOM_KILLED TASK_PROCESS_MAYBE_OOM_KILLED
TASK_RUN_CANCELLED TASK_INPUT_ERROR TASK_OUTPUT_ERROR TASK_MIDDLEWARE_ERROR HANDLE_ERROR_ERROR
GRACEFUL_EXIT_TIMEOUT TASK_RUN_HEARTBEAT_TIMEOUT TASK_RUN_CRASHED TASK_RUN_UNCAUGHT_EXCEPTION
MAX_DURATION_EXCEEDED DISK_SPACE_EXCEEDED POD_EVICTED POD_UNKNOWN_ERROR
TASK_HAS_N0_EXECUTION_SNAPSHOT TASK_DEQUEUED_INVALID_STATE TASK_DEQUEUED_QUEUE_NOT_FOUND
TASK_RUN_DEQUEUED_MAX_RETRIES TASK_RUN_STALLED_EXECUTING
TASK_RUN_STALLED_EXECUTING_WITH_WAITPOINTS OUTDATED_SDK_VERSION TASK_DID_CONCURRENT_WAIT
RECURSIVE_WAIT_DEADLOCK BATCH_ITEM_COULD_NOT_TRIGGER PAYLOAD_TOO_LARGE UNSPECIFIED_ERROR""".split()
)


@dataclass
class Delivery:
    url: str
    event_type: str
    payload: dict[str, Any]
    body: bytes = field(repr=False)
    statuses: list[int | None] = field(default_factory=list)  # None: no answer (error/timeout)
    #: Per attempt, why there was no answer ("ConnectionError: ...", "ReadTimeout: ..."), or
    #: None for an attempt that was answered; the URL's query is left out.
    errors: list[str | None] = field(default_factory=list)
    response_body: bytes = field(default=b"", repr=False)

    @property
    def error(self) -> str | None:
        """Why the last attempt got no answer (None: it was answered, or none was made)."""
        return self.errors[-1] if self.errors else None

    @property
    def event_id(self) -> str:
        return str(self.payload.get("id"))

    @property
    def delivered(self) -> bool:
        return (
            bool(self.statuses)
            and self.statuses[-1] is not None
            and (200 <= self.statuses[-1] < 300)
        )


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def build_payload(
    world: World,
    event_type: str,
    *,
    environment: Environment | None = None,
    run_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object Trigger.dev sends for ``event_type``. Call with ``world.lock`` held."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown alert type {event_type!r}; one of {', '.join(EVENT_TYPES)}")
    env = environment or world.environments_by_public_slug(world.default_project.ref)["dev"]
    project = world.projects[env.project_ref]
    org = world.organizations[project.org_id]
    now = world.now()
    organization = {"id": org.id, "slug": org.slug, "name": org.title}
    project_info = {
        "id": project.id,
        "ref": project.ref,
        "slug": project.slug,
        "name": project.name,
    }
    env_path = f"{DASHBOARD}/orgs/{org.slug}/projects/{project.slug}/env/{env.slug}"
    environment_info: dict[str, Any] = {"id": env.id, "type": env.type, "slug": env.slug}
    if env.branch_name:
        environment_info["branchName"] = env.branch_name

    if event_type == "alert.error":
        nanoid = "".join(world.ids.rng("alert-nanoid").choice(_NANOID) for _ in range(21))
        payload: dict[str, Any] = {
            "id": nanoid,
            "created": format_date(now),
            "webhookVersion": "2025-01-01",
            "type": event_type,
            "object": {
                "classification": "new_issue",
                "error": {
                    "fingerprint": world.ids.chars("alert-fingerprint", 16),
                    "type": "Error",
                    "message": "Something went wrong",
                    "stackTrace": "Error: Something went wrong\n    at run (task.ts:12:11)",
                    "firstSeen": format_date(now),
                    "lastSeen": format_date(now),
                    "occurrenceCount": 1,
                    "taskIdentifier": "send-email",
                },
                "environment": {"id": env.id, "name": env.title},
                "organization": organization,
                "project": project_info,
                "dashboardUrl": f"{env_path}/errors",
            },
        }
        return _merge(payload, overrides or {})

    common = {
        "id": world.ids.cuid("alert"),
        "created": format_date(now),
        "webhookVersion": "v1",
        "type": event_type,
    }
    if event_type == "alert.run.failed":
        runs = world.runs.in_environment(env.id)
        run = (
            world.runs.get(run_id, env)
            if run_id
            else next((r for r in runs if r.status in FAILED_STATUSES), runs[0] if runs else None)
        )
        if run is None:
            raise ValueError(f"no run {run_id or ''} in environment {env.slug} to alert about")
        error = run.error or {
            "type": "BUILT_IN_ERROR",
            "name": "Error",
            "message": "Something went wrong",
            "stackTrace": "",
        }
        if error.get("type") == "INTERNAL_ERROR" and error.get("code") not in (
            INTERNAL_ERROR_CODES
        ):
            # Some seeded runs carry codes the SDK's schema does not know; the service only
            # sends known ones.
            error = {**error, "code": "TASK_RUN_CRASHED"}
        run_info: dict[str, Any] = {
            "id": run.friendly_id,
            "number": runs.index(run) + 1 if run in runs else 1,
            "status": V2[run.status],
            "createdAt": format_date(run.created_at),
        }
        if run.started_at:
            run_info["startedAt"] = format_date(run.started_at)
        if run.completed_at:
            run_info["completedAt"] = format_date(run.completed_at)
        run_info.update({"isTest": run.is_test})
        if run.idempotency_key:
            run_info["idempotencyKey"] = run.idempotency_key
        run_info.update(
            {
                "tags": list(run.tags),
                "error": error,
                "isOutOfMemoryError": False,
                "machine": run.machine,
                "dashboardUrl": f"{env_path}/runs/{run.friendly_id}",
            }
        )
        payload = {
            **common,
            "object": {
                "task": {
                    "id": run.task_identifier,
                    "filePath": f"src/trigger/{run.task_identifier}.ts",
                    "exportName": run.task_identifier.replace("-", "_"),
                    "version": run.version or "Unknown",
                    "sdkVersion": SDK_VERSION,
                    "cliVersion": SDK_VERSION,
                },
                "run": run_info,
                "environment": environment_info,
                "organization": organization,
                "project": project_info,
            },
        }
        return _merge(payload, overrides or {})

    current = world.deployments.current_for(env)
    deployment = {
        "id": current.friendly_id if current else world.ids.friendly("deployment"),
        "status": "DEPLOYED" if event_type == "alert.deployment.success" else "FAILED",
        "version": current.version if current else "20260318.1",
        "shortCode": current.short_code if current else world.ids.chars("shortcode", 8),
    }
    body: dict[str, Any] = {
        "environment": environment_info,
        "organization": organization,
        "project": project_info,
    }
    if event_type == "alert.deployment.success":
        deployment["deployedAt"] = format_date(now)
        body["deployment"] = deployment
        body["tasks"] = [
            {
                "id": task,
                "filePath": f"src/trigger/{task}.ts",
                "exportName": task.replace("-", "_"),
                "triggerSource": source,
            }
            for task, source in world.deployments.tasks_of(project.ref).items()
        ]
    else:
        deployment["failedAt"] = format_date(now)
        body["deployment"] = deployment
        body["error"] = {
            "name": "BuildError",
            "message": "Build failed: exit code 1",
            "stderr": "error TS2304: Cannot find name 'foo'.",
        }
    return _merge({**common, "object": body}, overrides or {})


def _why(exc: requests.RequestException, url: str) -> str:
    """``Type: message`` of a failed attempt: the urllib3 error behind requests' own (a
    ``MaxRetryError`` names the URL, its ``reason`` does not), any query string of the URL
    (where a receiver may take a token) replaced by ``?…``."""
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", inner)
    message = f"{type(exc).__name__}: {reason}"
    query = urlsplit(url).query
    return message.replace(query, "…") if query else message


def deliver(
    world: World,
    url: str,
    event_type: str,
    *,
    secret: str,
    attempts: int = MAX_ATTEMPTS,
    payload: dict[str, Any] | None = None,
    body: bytes | None = None,
    signature: str | None = None,
    timeout: float = TIMEOUT,
    **build: Any,
) -> Delivery:
    """Build (or take) a payload, sign it, POST it; retry while the answer is not 2xx.
    ``body``/``signature`` send exact bytes / a given header (to test refusals)."""
    if not secret:
        raise ValueError("secret is required (the channel's webhook secret)")
    if payload is None:
        with world.lock:
            payload = build_payload(world, event_type, **build)
    raw = body if body is not None else json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        SIGNATURE_HEADER: signature if signature is not None else sign(raw, secret),
    }
    delivery = Delivery(url, event_type, payload, raw)
    with requests.Session() as session:
        for _ in range(attempts):
            try:
                response = session.post(
                    url, data=raw, headers=headers, timeout=timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                delivery.statuses.append(None)
                delivery.errors.append(_why(exc, url))
                continue
            delivery.statuses.append(response.status_code)
            delivery.errors.append(None)
            delivery.response_body = response.content
            if 200 <= response.status_code < 300:
                break
    return delivery
