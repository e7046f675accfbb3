"""Property-based fuzzing of the emulator against the official OpenAPI file (schemathesis over
Hypothesis): every operation of the file, requests generated from its schemas, valid ones
(``positive``) and invalid ones (``negative``: wrong types, missing or extra fields, bad
formats), sent over HTTP to the emulator. Checked for every answer:

- no 5xx, except the 500s the real service gives on purpose (``INTENDED_5XX``), and never an
  emulator crash (``emu.server_errors``);
- the answer's status is documented for the operation and its body matches the schema the
  file gives for that status, except where the real server differs from the file: the
  deviations of ``test_emulator_openapi`` and ``FUZZ_DEVIATIONS`` below, each with its reason;
- every operation that needs a key refuses a request without one, or with an unknown one.

Path parameters are either generated or, for about half the examples, ids that exist in the
seeded world, so that the routes' validation and success paths are reached, not only their
404s. Derandomized (the same examples every run) and small by default, so the suite stays fast;
``TRIGGER_FUZZ_EXAMPLES=200`` (examples per operation and mode) runs a deeper search, and
``TRIGGER_FUZZ_SEED`` changes which examples are drawn (docs/development.md).
"""

from __future__ import annotations

import json
import os
import re
import unittest
from typing import Any
from urllib.parse import quote

import requests

from tests.emulator.base import EmulatorCase

from . import openapi
from .test_emulator_openapi import DEVIATIONS, Exchange, response_problems

try:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - the dev extra installs them
    schemathesis = None

EXAMPLES = int(os.environ.get("TRIGGER_FUZZ_EXAMPLES", "2"))
SEED = int(os.environ.get("TRIGGER_FUZZ_SEED", "12"))
ONLY = re.compile(os.environ.get("TRIGGER_FUZZ_ONLY", ""))  # "METHOD /template" to fuzz
UNKNOWN_KEY = "tr_dev_unknownunknownunknown1"

# Operations of the file the emulator does not serve (its unknown-path 404), with the reason.
NOT_EMULATED = {
    ("GET", "/api/v1/query/schema"): "the TRQL schema (the emulator answers a TRQL subset)",
}

# 5xx answers the real service gives on purpose, which the emulator reproduces (each site in the
# emulator names its source), as (reason, "METHOD template" pattern). An emulator crash is never
# one of them: it shows in emu.server_errors.
INTENDED_5XX = [
    (
        "a body that is not JSON: the legacy routes' `await request.json()` throws, 500",
        r"^(POST|PUT) /api/v1/(schedules|projects/\{projectRef\}/envvars|runs/\{runId\}/tags)",
    ),
    (
        "env var import: `request.formData()` throws on a malformed multipart body",
        r"^POST /api/v1/projects/\{projectRef\}/envvars/\{env\}/import$",
    ),
    (
        "tags of an unknown run: Prisma's `Record to update not found` (API.md §6.1)",
        r"^POST /api/v1/runs/\{runId\}/tags$",
    ),
    (
        "bulk action list: both cursors, or one that does not decode, make the presenter throw",
        r"^GET /api/v1/bulk-actions$",
    ),
    (
        "deployment list: an unparsable period/from/to or a fractional page size throws",
        r"^GET /api/v1/deployments$",
    ),
    (
        "project runs: `filter[env]` naming no environment of the project fails the presenter",
        r"^GET /api/v1/projects/\{projectRef\}/runs$",
    ),
    (
        "queues: `decodeURIComponent` of the queue name throws on a stray `%`",
        r"^(GET|POST) /api/v1/queues/\{queueParam\}",
    ),
    (
        "waitpoint tokens: an unknown or malformed token id is the loader's 500",
        r"^(GET|POST) /api/v1/waitpoints/tokens/\{waitpointId\}",
    ),
]

# Answers the generated requests reach where the real server differs from the file (the emulator
# follows the server), as (reason, "METHOD template" pattern, problem pattern).
FUZZ_DEVIATIONS = [
    (
        "bad query strings: the loader builders' 400 `Query Error` (and the schedules list's "
        "`Invalid request parameters`); the file documents no 400",
        r"^GET /api/v1/(deployments|queues|queues/\{queueParam\}|schedules|errors|"
        r"projects/\{projectRef\}/runs)$",
        r"^status 400 is not documented$",
    ),
    (
        "bad bodies: the action builders' 400 `Invalid request body` / zod message; the file "
        "documents 422 or nothing",
        r"^(POST|PATCH) /api/v1/(sessions(/\{session\}(/close)?)?|errors/\{errorId\}/\w+|"
        r"waitpoints/tokens(/\{waitpointId\}/complete)?)$",
        r"^status 400 is not documented$",
    ),
    (
        "reschedule and metadata: the routes' own 400 messages (`Invalid request body`, `Invalid "
        "JSON`, zod's `Validation error: …`) are not in the file's enums",
        r"^(POST /api/v1/runs/\{runId\}/reschedule|PUT /api/v1/runs/\{runId\}/metadata)$",
        r"^error: '(Invalid request body|Invalid JSON|Validation error: .*)' is not one of",
    ),
    (
        "a body over the route's maxContentLength: the action builder's 413 `Request body too "
        "large`, before auth and validation",
        r"^(POST|PUT|PATCH) /",
        r"^status 413 is not documented$",
    ),
    (
        "a PAT that cannot see the project: the PAT builder's 404; the file documents none",
        r"^GET /api/v1/projects/\{projectRef\}/runs$",
        r"^status 404 is not documented$",
    ),
    (
        "aborting a bulk action that already finished is a 409",
        r"^POST /api/v1/bulk-actions/\{bulkActionId\}/abort$",
        r"^status 409 is not documented$",
    ),
    (
        "an empty v1 batch: everyResource([]) grants nothing, the RBAC 403 comes before the "
        "handler's 400 (apiBuilder.server.ts checkAuth)",
        r"^POST /api/v1/tasks/batch$",
        r"^status 403 is not documented$",
    ),
    (
        "schedule list: `externalId` is the row's value, null when unset (api.v1.schedules.ts); "
        "the file says string",
        r"^GET /api/v1/schedules$",
        r"^data/\d+/externalId: None is not of type 'string'$",
    ),
]


def _operations() -> list[Any]:
    schema = schemathesis.openapi.from_dict(openapi.json_spec())
    return [result.ok() for result in schema.get_all_operations()]


@unittest.skipUnless(openapi.available(), openapi.SKIP_REASON)
@unittest.skipIf(schemathesis is None, "schemathesis is not installed (the dev extra has it)")
class EmulatorFuzzTests(EmulatorCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.operations = _operations()

    def setUp(self) -> None:
        super().setUp()
        self.known = self.known_values()

    # -- what exists in the seeded world ----------------------------------------------------

    def known_values(self) -> dict[str, list[str]]:
        """Path parameter values that name something in the world."""

        def ids(path: str, key: str = "id", **kwargs: Any) -> list[str]:
            data = self.get(path, **kwargs).json()
            rows = data.get("data", data) if isinstance(data, dict) else data
            return [row[key] for row in rows[:3]]

        runs = ids("/api/v1/runs", params={"page[size]": 3})
        token = self.post("/api/v1/waitpoints/tokens", json={"timeout": "1h"}).json()
        batch = self.post("/api/v2/tasks/batch", json={"items": [{"task": "send-email"}]}).json()
        return {
            "runId": runs,
            "schedule_id": ids("/api/v1/schedules"),
            "deploymentId": ids("/api/v1/deployments"),
            "version": ids("/api/v1/deployments", key="version"),
            "bulkActionId": ids("/api/v1/bulk-actions"),
            "projectRef": [self.emu.project_ref],
            "env": ["dev", "prod"],
            "name": [
                v["name"]
                for v in self.get(f"/api/v1/projects/{self.emu.project_ref}/envvars/dev").json()
            ][:3],
            "taskIdentifier": ["send-email"],
            "batchId": [batch["id"]],
            "queueParam": ids("/api/v1/queues", key="name"),
            "waitpointId": [token["id"]],
            "callbackHash": [token["url"].rstrip("/").rsplit("/", 1)[-1]],
            "errorId": ids("/api/v1/errors"),
        }

    # -- sending one generated case ---------------------------------------------------------

    def credentials(self, operation: Any) -> str | None:
        schemes = {name for item in operation.definition.raw.get("security", []) for name in item}
        if not schemes:
            return None
        if "secretKey" in schemes:
            return self.emu.secret_key
        return self.emu.access_token

    def send(self, case: Any, token: str | None) -> Any:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        try:
            return case.call(base_url=self.emu.base_url, session=self.http, timeout=10)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError):
            return None  # a request no HTTP client would send (e.g. a header with a newline)

    def problems_of(self, operation: Any, response: Any) -> list[str]:
        """``response``: schemathesis's (lower-case header names, each a list of values)."""
        where = f"{operation.method.upper()} {operation.path}"
        path = response.request.path_url.split("?", 1)[0]
        status = response.status_code
        text = response.content.decode("utf-8", "replace")
        found = []
        intended = status == 500 and any(re.search(p, where) for _, p in INTENDED_5XX)
        if status >= 500 and not intended:
            found.append(f"{where} [{status}]: a server error: {text[:200]}")
        content_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
        try:
            body = json.loads(text) if response.content else None
        except ValueError:
            body = text
        exchange = Exchange(operation.method.upper(), path, status, content_type, body)
        if openapi.find_operation(exchange.method, path) is None:
            return found  # a generated path segment with a slash: no route, no schema
        template, problems = response_problems(exchange)
        if intended:  # the file documents no 500 for most operations: the body's shape only
            problems = (
                []
                if isinstance(body, dict) and isinstance(body.get("error"), str)
                else [f"a 500 body that is not {{error: string}}: {text[:200]}"]
            )
        for problem in problems:
            known = [*DEVIATIONS, *FUZZ_DEVIATIONS]
            if not any(
                re.search(op, template or "") and re.search(pattern, problem)
                for _, op, pattern in known
            ):
                found.append(f"{template} [{status}]: {problem}")
        return found

    # -- the properties ---------------------------------------------------------------------

    def fuzz(self, operation: Any, mode: Any) -> dict[str, str]:
        """Problem -> the first request that showed it."""
        found: dict[str, str] = {}
        token = self.credentials(operation)
        known = {
            name: values
            for name, values in self.known.items()
            if f"{{{name}}}" in operation.path and values
        }
        real = st.fixed_dictionaries({name: st.sampled_from(v) for name, v in known.items()})

        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), ids=st.one_of(st.none(), real))
        def check(case: Any, ids: dict[str, str] | None) -> None:
            if ids:
                case.path_parameters = {
                    **(case.path_parameters or {}),
                    **{k: quote(v, safe="") for k, v in ids.items()},
                }
            response = self.send(case, token)
            if response is not None:
                request = response.request
                shown = f"{request.method} {request.path_url[:300]} {str(request.body)[:300]}"
                for problem in self.problems_of(operation, response):
                    found.setdefault(problem, shown)

        check()
        return found

    def test_every_operation_with_valid_and_invalid_requests(self):
        served = [op for op in self.operations if (op.method.upper(), op.path) not in NOT_EMULATED]
        self.assertEqual(len(served) + len(NOT_EMULATED), len(self.operations))
        served = [op for op in served if ONLY.search(f"{op.method.upper()} {op.path}")]
        problems: dict[str, str] = {}
        for operation in served:
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):
                for problem, request in self.fuzz(operation, mode).items():
                    problems.setdefault(problem, request)
        crashes = [
            error.splitlines()[0] + " " + error.strip().splitlines()[-1]
            for error in self.emu.server_errors
        ]
        self.maxDiff = None
        self.assertEqual([f"{p}\n    after {r}" for p, r in sorted(problems.items())] + crashes, [])

    def test_operations_the_emulator_does_not_serve_are_unknown_paths(self):
        for method, template in NOT_EMULATED:
            path = template
            response = self.call(method, path, json={})
            self.assertEqual(response.status_code, 404, f"{method} {path}")
            self.assertEqual(response.json(), {"error": "Not found"})

    def test_a_key_is_required_where_the_file_asks_for_one(self):
        for operation in self.operations:
            method, template = operation.method.upper(), operation.path
            if (method, template) in NOT_EMULATED or self.credentials(operation) is None:
                continue
            path = template
            for name, values in self.known.items():
                path = path.replace(f"{{{name}}}", quote(values[0], safe="") if values else "x")
            for token in (None, UNKNOWN_KEY):
                with self.subTest(f"{method} {template}", token=token):
                    response = self.call(method, path, token=token, json={})
                    self.assertEqual(response.status_code, 401, response.text)
                    self.assertNotIn(self.emu.secret_key, response.text)

    def test_a_server_error_and_a_wrong_shape_are_reported(self):
        operation = next(
            op for op in self.operations if (op.method, op.path) == ("get", "/api/v3/runs/{runId}")
        )
        self.emu.faults.fail_next(1, 502)
        self.emu.faults.respond_next(1, body={"id": 1})
        found = self.fuzz(operation, schemathesis.GenerationMode.POSITIVE)
        self.assertTrue(any("[502]: a server error" in p for p in found), found)
        self.assertTrue(any("[200]: id: 1 is not of type 'string'" in p for p in found), found)
