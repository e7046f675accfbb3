"""Prompts (docs/API-ADDENDUM.md §8): per environment, each with numbered versions carrying
labels. ``current`` marks the version deploys promoted, ``override`` the dashboard/API edit
that takes precedence over it when resolving; both move between versions, never duplicate.

    with emu.state.lock:
        prompt = emu.state.prompts.find(env, "support-reply")
        prompt.add_version(text_content="Hi {{name}}", source="code", labels=["current"])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..world import Environment, format_date

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = ["Prompt", "PromptStore", "PromptVersion", "compile_template", "seed_prompts"]

# JavaScript's \w is ASCII; its \s is Unicode (Python's default for str patterns).
_SECTION = re.compile(r"\{\{#([A-Za-z0-9_]+)\}\}([\s\S]*?)\{\{/\1\}\}")
_INNER = re.compile(r"\{\{([A-Za-z0-9_]+)\}\}")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _js_string(value: Any) -> str:
    """``String(value)`` for JSON values."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_truthy(value: Any) -> bool:
    if isinstance(value, (list, dict)):
        return True  # [] and {} are truthy in JavaScript
    return bool(value)


def compile_template(template: str, variables: dict[str, Any]) -> str:
    """The server's ``compileTemplate``: ``{{#key}}…{{/key}}`` sections kept when the variable
    is truthy (their ``{{var}}`` filled in), then ``{{ var }}`` replaced; a missing or null
    variable gives an empty string, nothing is escaped, unknown syntax stays as written."""

    def section(match: re.Match[str]) -> str:
        if not _js_truthy(variables.get(match[1])):
            return ""
        return _INNER.sub(lambda m: _js_string(_or_empty(variables.get(m[1]))), match[2])

    result = _SECTION.sub(section, template)
    return _VARIABLE.sub(
        lambda m: "" if variables.get(m[1]) is None else _js_string(variables[m[1]]), result
    )


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class PromptVersion:
    id: str
    version: int
    text_content: str | None
    source: str
    labels: list[str]
    created_at: dt.datetime
    model: str | None = None
    config: dict[str, Any] | None = None
    commit_message: str | None = None
    content_hash: str = ""

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "labels": list(self.labels),
            "source": self.source,
            "model": self.model,
            "textContent": self.text_content,
            "commitMessage": self.commit_message,
            "contentHash": self.content_hash,
            "createdAt": format_date(self.created_at),
        }


@dataclass
class Prompt:
    friendly_id: str
    slug: str
    updated_at: dt.datetime
    description: str | None = None
    type: str = "text"
    tags: list[str] = field(default_factory=list)
    default_model: str | None = None
    default_config: dict[str, Any] | None = None
    variable_schema: dict[str, Any] | None = None
    versions: list[PromptVersion] = field(default_factory=list)
    _world: Any = field(default=None, repr=False)

    def add_version(
        self,
        *,
        text_content: str,
        source: str,
        labels: list[str] = (),  # type: ignore[assignment]
        model: str | None = None,
        commit_message: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> PromptVersion:
        """A new version numbered after the latest; a label it takes leaves the others."""
        for label in labels:
            self.remove_label(label)
        version = PromptVersion(
            id=self._world.ids.cuid(),
            version=self.latest_number() + 1,
            text_content=text_content,
            source=source,
            labels=list(labels),
            created_at=self._world.now(),
            model=model or None,
            config=config,
            commit_message=commit_message or None,
            content_hash=content_hash(text_content),
        )
        self.versions.append(version)
        return version

    def latest_number(self) -> int:
        return max((v.version for v in self.versions), default=0)

    def version(self, number: int) -> PromptVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    def labelled(self, label: str) -> PromptVersion | None:
        found = [v for v in self.versions if label in v.labels]
        return max(found, key=lambda v: v.version) if found else None

    def remove_label(self, label: str) -> None:
        for version in self.versions:
            if label in version.labels:
                version.labels.remove(label)

    def move_label(self, label: str, target: PromptVersion) -> None:
        self.remove_label(label)
        target.labels.append(label)

    def resolve(self, version: int | None, label: str | None) -> PromptVersion | None:
        """``PromptPresenter.resolveVersion``: an explicit version; else the override (it wins
        over any label asked for); else the newest version with ``label`` (default current)."""
        if version is not None:
            return self.version(version)
        return self.labelled("override") or self.labelled(label or "current")

    def list_item(self) -> dict[str, Any]:
        current, override = self.labelled("current"), self.labelled("override")
        model = (
            (override.model if override else None)
            or (current.model if current else None)
            or self.default_model
        )
        return {
            "slug": self.slug,
            "friendlyId": self.friendly_id,
            "description": self.description,
            "tags": list(self.tags),
            "defaultModel": model,
            "currentVersion": current.version if current else None,
            "hasOverride": override is not None,
            "updatedAt": format_date(self.updated_at),
        }


class PromptStore:
    def __init__(self, world: World) -> None:
        self._world = world
        self._prompts: dict[tuple[str, str], Prompt] = {}

    def add(self, env: Environment, slug: str, **fields: Any) -> Prompt:
        prompt = Prompt(
            friendly_id=self._world.ids.friendly("prompt"),
            slug=slug,
            updated_at=self._world.now(),
            _world=self._world,
            **fields,
        )
        self._prompts[(env.id, slug)] = prompt
        return prompt

    def find(self, env: Environment, slug: str) -> Prompt | None:
        return self._prompts.get((env.id, slug))

    def of(self, env: Environment) -> list[Prompt]:
        found = [p for (env_id, _), p in self._prompts.items() if env_id == env.id]
        return sorted(found, key=lambda p: p.updated_at, reverse=True)


def seed_prompts(world: World, rng: random.Random) -> None:
    """Every environment gets ``support-reply`` (code versions 1 and 2, 2 current, version 1
    also labelled ``stable``), ``summarize`` (one current version, with a section) and
    ``draft-only`` (a version without any label: resolving it by label finds nothing)."""
    store: PromptStore = world.prompts
    for env in world.environments.values():
        reply = store.add(
            env,
            "support-reply",
            description="Answer a support ticket",
            tags=["support"],
            default_model="gpt-4o-mini",
            default_config={"temperature": 0.2},
        )
        first = reply.add_version(
            text_content="Hello {{name}}, thanks for writing.",
            source="code",
            labels=["current", "stable"],
        )
        first.created_at = world.seeded_at - dt.timedelta(days=9, minutes=rng.randint(0, 600))
        second = reply.add_version(
            text_content="Hi {{ name }}! About ticket {{ticket}}:{{#urgent}} (urgent, "
            "{{name}}){{/urgent}}",
            source="code",
            labels=["current"],
            model="gpt-4o",
        )
        second.created_at = world.seeded_at - dt.timedelta(days=2, minutes=rng.randint(0, 600))
        reply.updated_at = second.created_at
        summary = store.add(
            env,
            "summarize",
            tags=[],
            variable_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        )
        summary.add_version(
            text_content="Summarize: {{text}}", source="code", labels=["current"]
        ).created_at = world.seeded_at
        summary.updated_at = world.seeded_at - dt.timedelta(days=1)
        draft = store.add(env, "draft-only")
        draft.add_version(text_content="Draft {{x}}", source="code").created_at = world.seeded_at
        draft.updated_at = world.seeded_at - dt.timedelta(days=5)
