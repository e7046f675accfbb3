"""Small results shared by several endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from ._base import Record

__all__ = ["IdResponse", "MessageResponse", "SuccessResponse"]


@dataclass(frozen=True, kw_only=True)
class IdResponse(Record):
    """``{"id": ...}``: the answer of cancel, replay, delete and similar calls."""

    id: str


@dataclass(frozen=True, kw_only=True)
class MessageResponse(Record):
    message: str


@dataclass(frozen=True, kw_only=True)
class SuccessResponse(Record):
    success: bool
