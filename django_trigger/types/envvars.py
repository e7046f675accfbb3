"""Environment variable records (API.md §6.4, §8)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._base import Record

__all__ = ["REDACTED", "EnvVar"]

#: What the API sends back instead of a secret variable's value.
REDACTED = "<redacted>"


@dataclass(frozen=True, kw_only=True)
class EnvVar(Record):
    """One variable. ``value`` is never shown in the repr; secret values read back as
    ``"<redacted>"`` (see ``is_redacted``)."""

    name: str
    value: str = field(repr=False)
    is_secret: bool = False

    @property
    def is_redacted(self) -> bool:
        return self.is_secret and self.value == REDACTED
