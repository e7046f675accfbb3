"""Prompts (docs/API-ADDENDUM.md §8): list, retrieve, resolve (template rendering), versions,
promote, and the override routes, with the server's builders: the loaders (list, retrieve,
versions) answer an unknown slug with the builder's ``Not found`` before authorization, the
actions authorize first and then answer ``Prompt not found``."""

from __future__ import annotations

import random
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources.prompts import (
    Prompt,
    PromptStore,
    compile_template,
    content_hash,
    seed_prompts,
)
from ..validation import MISSING, Checker
from ..world import World, format_date

ORDER = 70
STORES = {"prompts": PromptStore}


def seed(world: World, rng: random.Random) -> None:
    seed_prompts(world, rng)


def register(router: Router) -> None:
    router.get(
        "/api/v1/prompts", list_prompts, auth=auth.BEARER_JWT, authorization="read", cors=True
    )
    router.get(
        "/api/v1/prompts/{slug}",
        retrieve_prompt,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.post(
        "/api/v1/prompts/{slug}",
        resolve_prompt,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.get(
        "/api/v1/prompts/{slug}/versions",
        list_versions,
        auth=auth.BEARER_JWT,
        authorization="read",
        cors=True,
    )
    router.post(
        "/api/v1/prompts/{slug}/promote",
        promote,
        auth=auth.BEARER_JWT,
        authorization="update",
        cors=True,
    )
    for method in ("post", "put", "patch", "delete"):
        getattr(router, method)(
            "/api/v1/prompts/{slug}/override",
            override,
            auth=auth.BEARER_JWT,
            authorization="update",
            cors=True,
        )
    router.post(
        "/api/v1/prompts/{slug}/override/reactivate",
        reactivate,
        auth=auth.BEARER_JWT,
        authorization="update",
        cors=True,
    )


def _store(request: ApiRequest) -> PromptStore:
    return request.world.prompts


def _loader_prompt(request: ApiRequest) -> Prompt:
    """A loader's ``findResource``: a missing prompt is the builder's 404, before auth."""
    env = request.principal.environment
    assert env is not None
    prompt = _store(request).find(env, request.params["slug"])
    if prompt is None:
        raise errors.not_found_loader(retry=False)
    request.authorize([("prompts", request.params["slug"])])
    return prompt


def _action_prompt(request: ApiRequest) -> Prompt:
    request.authorize([("prompts", request.params["slug"])])
    env = request.principal.environment
    assert env is not None
    prompt = _store(request).find(env, request.params["slug"])
    if prompt is None:
        raise errors.api_error(404, "Prompt not found")
    return prompt


def list_prompts(request: ApiRequest) -> Reply:
    request.authorize([("prompts", "all")])
    env = request.principal.environment
    assert env is not None
    with request.world.lock:
        return json_reply({"data": [p.list_item() for p in _store(request).of(env)]})


def retrieve_prompt(request: ApiRequest) -> Reply:
    version: int | None = None
    raw = request.query.get("version", [None])[0]
    if raw is not None:
        try:
            version = int(float(raw)) if raw.strip() else 0
        except ValueError:
            raise errors.query_error(
                [  # z.coerce.number(): NaN
                    {
                        "code": "invalid_type",
                        "expected": "number",
                        "received": "nan",
                        "path": ["version"],
                        "message": "Expected number, received nan",
                    }
                ]
            ) from None
    label = request.query.get("label", [None])[0]
    with request.world.lock:
        prompt = _loader_prompt(request)
        found = prompt.resolve(version, label)
        if found is None:
            raise errors.api_error(404, "No version found")
        return json_reply(
            {
                "data": {
                    "id": prompt.friendly_id,
                    "slug": prompt.slug,
                    "description": prompt.description,
                    "type": prompt.type,
                    "tags": list(prompt.tags),
                    "defaultModel": prompt.default_model,
                    "defaultConfig": prompt.default_config,
                    "variableSchema": prompt.variable_schema,
                    "version": {
                        "version": found.version,
                        "textContent": found.text_content,
                        "model": found.model,
                        "config": found.config,
                        "source": found.source,
                        "labels": list(found.labels),
                        "contentHash": found.content_hash,
                        "commitMessage": found.commit_message,
                        "createdAt": format_date(found.created_at),
                    },
                }
            }
        )


def resolve_prompt(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    variables: Any = {}
    if check.object(body):
        variables = body.get("variables", MISSING)
        if variables is MISSING:
            variables = {}
        else:
            check.object(variables, ["variables"])
        check.string(body, "label", required=False)
        check.number(body, "version", required=False)
    check.raise_body_error()
    with request.world.lock:
        prompt = _action_prompt(request)
        found = prompt.resolve(body.get("version"), body.get("label"))
        if found is None:
            raise errors.api_error(404, "No version found")
        if not found.text_content:
            raise errors.api_error(404, "Prompt has no content")
        return json_reply(
            {
                "data": {
                    "promptId": prompt.friendly_id,
                    "slug": prompt.slug,
                    "version": found.version,
                    "labels": list(found.labels),
                    "template": found.text_content,
                    "text": compile_template(found.text_content, variables),
                    "model": found.model or prompt.default_model,
                    "config": found.config if found.config is not None else prompt.default_config,
                }
            }
        )


def list_versions(request: ApiRequest) -> Reply:
    with request.world.lock:
        prompt = _loader_prompt(request)
        newest = sorted(prompt.versions, key=lambda v: v.version, reverse=True)[:50]
        return json_reply({"data": [v.to_api() for v in newest]})


def _version_body(request: ApiRequest) -> int:
    body = request.json()
    check = Checker()
    if check.object(body):
        check.number(body, "version", integer=True, exclusive_minimum=0)
    check.raise_body_error()
    return int(body["version"])


def promote(request: ApiRequest) -> Reply:
    number = _version_body(request)
    with request.world.lock:
        prompt = _action_prompt(request)
        target = prompt.version(number)
        if target is None:
            raise errors.api_error(404, f"Version {number} not found")
        if target.source != "code":
            raise errors.api_error(
                400, "Only code-sourced versions can be promoted. Use the override API instead."
            )
        prompt.move_label("current", target)
        return json_reply({"ok": True})


def reactivate(request: ApiRequest) -> Reply:
    number = _version_body(request)
    with request.world.lock:
        prompt = _action_prompt(request)
        target = prompt.version(number)
        if target is None:
            raise errors.api_error(404, f"Version {number} not found")
        if target.source == "code":
            raise errors.api_error(400, "Code-sourced versions cannot be reactivated as overrides")
        prompt.move_label("override", target)
        return json_reply({"ok": True})


def override(request: ApiRequest) -> Reply:
    method = request.method.upper()
    body: Any = None
    if method != "DELETE":
        body = request.json()
        check = Checker()
        if check.object(body):
            check.string(body, "textContent", required=method == "POST")
            check.string(body, "model", required=False)
            check.string(body, "commitMessage", required=False)
            if method == "POST":
                source = check.string(body, "source", required=False)
                if source == "code":
                    check.add(["source"], "Invalid input")
    if method != "DELETE":
        check.raise_body_error()
    with request.world.lock:
        prompt = _action_prompt(request)
        if method == "DELETE":
            prompt.remove_label("override")
            return json_reply({"ok": True})
        if method == "POST":
            created = prompt.add_version(
                text_content=body["textContent"],
                source=body.get("source") or "api",
                labels=["override"],
                model=body.get("model"),
                commit_message=body.get("commitMessage"),
            )
            return json_reply({"ok": True, "version": created.version})
        current = prompt.labelled("override")
        if current is None:
            raise errors.api_error(400, "No active override to update")
        if "textContent" in body:
            current.text_content = body["textContent"]
        current.content_hash = content_hash(current.text_content or "")
        if body.get("model") is not None:
            current.model = body["model"]
        if body.get("commitMessage") is not None:
            current.commit_message = body["commitMessage"]
        return json_reply({"ok": True})
