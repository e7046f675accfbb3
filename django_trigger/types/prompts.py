"""Prompt records (docs/API-ADDENDUM.md §8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._base import Record, SchemaError

__all__ = [
    "PromptListItem",
    "PromptOk",
    "PromptOverrideCreated",
    "PromptVersion",
    "ResolvedPrompt",
    "data_of",
]


def data_of(body: Any, kind: type) -> Any:
    """The ``data`` member of a ``{"data": ...}`` answer, checked to be a ``kind``."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), kind):
        raise SchemaError(f"expected an object with a 'data' {kind.__name__}")
    return body["data"]


@dataclass(frozen=True, kw_only=True)
class PromptListItem(Record):
    """One prompt of ``prompts.list()``; ``default_model`` is the effective model (the
    override's, else the current version's, else the prompt's default)."""

    slug: str
    friendly_id: str
    description: str | None = None
    tags: list[str]
    default_model: str | None = None
    current_version: int | None = None
    has_override: bool
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class PromptVersion(Record):
    id: str
    version: int
    labels: list[str]
    source: str
    model: str | None = None
    text_content: str | None = None
    commit_message: str | None = None
    content_hash: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ResolvedPrompt(Record):
    """``prompts.resolve()``: the version chosen and its template rendered with the variables."""

    prompt_id: str
    slug: str
    version: int
    labels: list[str]
    template: str | None = None
    text: str | None = None
    model: str | None = None
    config: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PromptOk(Record):
    ok: bool


@dataclass(frozen=True, kw_only=True)
class PromptOverrideCreated(Record):
    ok: bool
    version: int
