"""``client.prompts``: resolve managed prompts and manage their versions and overrides
(docs/API-ADDENDUM.md §8; the SDK's ``prompts.*``). One request per call."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django_trigger._http.paths import build_path
from django_trigger.exceptions import InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types.prompts import (
    PromptListItem,
    PromptOk,
    PromptOverrideCreated,
    PromptVersion,
    ResolvedPrompt,
    data_of,
)

from ._base import Auth, Resource, RetrySafety, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import PromptsWithRawResponse

__all__ = ["Prompts"]


def _slug_path(template: str, slug: object) -> str:
    return build_path(template, (slug, "slug"))


def _version(value: object, name: str = "version") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer, not {value!r}")
    return value


def _optional_text(body: dict[str, Any], key: str, value: object, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string, not {type(value).__name__}")
    body[key] = value


def _variables(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Template variables: a mapping of string keys to JSON values (the server renders each
    with JavaScript's ``String()``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            f"variables must be a mapping of names to values, not {type(value).__name__}"
        )
    for key in value:
        if not isinstance(key, str):
            raise InvalidRequestError(f"variable names must be strings, not {key!r}")
    try:
        json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"variables must be JSON values: {exc}") from None
    return dict(value)


class Prompts(Resource):
    with_raw_response: RawTwin[PromptsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(self, *, request_options: RequestOptionsLike = None) -> list[PromptListItem]:
        """The environment's prompts, most recently updated first (one request; not paged)."""
        return self._request(
            "GET",
            "/api/v1/prompts",
            operation="prompts.list",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=lambda body: [PromptListItem.from_api(item) for item in data_of(body, list)],
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="resolving only reads and renders the template")
    def resolve(
        self,
        slug: str,
        variables: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
        version: int | None = None,
        request_options: RequestOptionsLike = None,
    ) -> ResolvedPrompt:
        """Render ``slug`` with ``variables``: the given ``version``; else the active override;
        else the newest version labelled ``label`` (default ``"current"``). Missing variables
        render as empty strings; nothing is escaped."""
        body: dict[str, Any] = {"variables": _variables(variables)}
        _optional_text(body, "label", label, "label")
        if version is not None:
            body["version"] = _version(version)
        return self._request(
            "POST",
            _slug_path("/api/v1/prompts/{}", slug),
            operation="prompts.resolve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=lambda data: ResolvedPrompt.from_api(data_of(data, dict)),
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def versions(
        self, slug: str, *, request_options: RequestOptionsLike = None
    ) -> builtins.list[PromptVersion]:
        """The prompt's 50 newest versions, newest first (one request)."""
        return self._request(
            "GET",
            _slug_path("/api/v1/prompts/{}/versions", slug),
            operation="prompts.versions",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=lambda body: [PromptVersion.from_api(item) for item in data_of(body, list)],
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="moving the current label to a version twice leaves it on that version",
    )
    def promote(
        self, slug: str, version: int, *, request_options: RequestOptionsLike = None
    ) -> PromptOk:
        """Label code-sourced ``version`` as current (an override still takes precedence)."""
        return self._request(
            "POST",
            _slug_path("/api/v1/prompts/{}/promote", slug),
            operation="prompts.promote",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body={"version": _version(version)},
            parse=PromptOk.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.UNSAFE, why="each call creates a new version")
    def create_override(
        self,
        slug: str,
        text_content: str,
        *,
        model: str | None = None,
        commit_message: str | None = None,
        source: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> PromptOverrideCreated:
        """A new version labelled ``override`` (resolving uses it until removed)."""
        if not isinstance(text_content, str):
            raise InvalidRequestError("text_content must be a string")
        if source == "code":
            raise InvalidRequestError("source 'code' is reserved for deployed versions")
        body: dict[str, Any] = {"textContent": text_content}
        _optional_text(body, "model", model, "model")
        _optional_text(body, "commitMessage", commit_message, "commit_message")
        _optional_text(body, "source", source, "source")
        return self._request(
            "POST",
            _slug_path("/api/v1/prompts/{}/override", slug),
            operation="prompts.create_override",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=PromptOverrideCreated.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="sets the override's fields to the given values")
    def update_override(
        self,
        slug: str,
        *,
        text_content: str | None = None,
        model: str | None = None,
        commit_message: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> PromptOk:
        """Edit the active override in place (400 when there is none)."""
        body: dict[str, Any] = {}
        _optional_text(body, "textContent", text_content, "text_content")
        _optional_text(body, "model", model, "model")
        _optional_text(body, "commitMessage", commit_message, "commit_message")
        return self._request(
            "PUT",
            _slug_path("/api/v1/prompts/{}/override", slug),
            operation="prompts.update_override",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=PromptOk.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.IDEMPOTENT, why="removing the override label twice is a no-op")
    def remove_override(self, slug: str, *, request_options: RequestOptionsLike = None) -> PromptOk:
        """Drop the override label (the version stays, and can be reactivated)."""
        return self._request(
            "DELETE",
            _slug_path("/api/v1/prompts/{}/override", slug),
            operation="prompts.remove_override",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=PromptOk.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.IDEMPOTENT,
        why="moving the override label to a version twice leaves it on that version",
    )
    def reactivate_override(
        self, slug: str, version: int, *, request_options: RequestOptionsLike = None
    ) -> PromptOk:
        """Make the earlier non-code ``version`` the override again."""
        return self._request(
            "POST",
            _slug_path("/api/v1/prompts/{}/override/reactivate", slug),
            operation="prompts.reactivate_override",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body={"version": _version(version)},
            parse=PromptOk.from_api,
            request_options=request_options,
        )
