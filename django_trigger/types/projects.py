"""The project environment a credential reaches (``GET /api/v1/projects/{ref}/{env}``)."""

from __future__ import annotations

from dataclasses import dataclass

from ._base import Record

__all__ = ["ProjectEnvironment"]


@dataclass(frozen=True, kw_only=True)
class ProjectEnvironment(Record):
    """The answer's ``apiKey`` (a secret key) is dropped before parsing: it is never kept,
    not even in ``.raw``."""

    name: str
    api_url: str
    project_id: str
    default_runtime: str | None = None
