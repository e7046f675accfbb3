"""Forms of the admin's action pages and of schedules and environment variables.

Values are checked here, before anything is sent, with the same rules as the client; what
only the API can judge (a task that does not exist, a run that is not delayed) comes back as
an admin message naming the run or as a form error.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from django_trigger import validators
from django_trigger.validators import (
    ENV_VAR_NAME,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    RESERVED_ENV_VAR_NAMES,
)

__all__ = [
    "AddTagsForm",
    "EnvVarForm",
    "RescheduleForm",
    "ScheduleForm",
]

_DELAY = re.compile(r"(?:\d+(?:w|d|hr|h|m|s))+", re.ASCII)


class RescheduleForm(forms.Form):
    delay = forms.CharField(
        label=_("New delay"),
        max_length=64,
        help_text=_(
            "How long from now the run should start: 30s, 10m, 2h, 1d, 1h30m; or an "
            "ISO 8601 date and time with a time zone (2030-01-01T09:00:00Z)."
        ),
    )

    def clean_delay(self) -> str:
        value = self.cleaned_data["delay"].strip()
        if _DELAY.fullmatch(value):
            return value
        from django.utils.dateparse import parse_datetime

        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError(
                _("Enter a duration like 30m or 2h, or an ISO date and time."), code="invalid"
            )
        if moment.tzinfo is None:
            raise forms.ValidationError(_("Add a time zone (e.g. Z or +02:00)."), code="naive")
        return moment.isoformat()


class AddTagsForm(forms.Form):
    tags = forms.CharField(label=_("Tags to add"), max_length=MAX_TAGS * (MAX_TAG_LENGTH + 1))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Formatted here, not at class level: formatting translates, and at import time that
        # would pick whatever language is active then (and load every catalogue at start-up).
        self.fields["tags"].help_text = _(
            "Comma-separated. Existing tags are kept; a run has at most %(max)d tags of at "
            "most %(length)d characters."
        ) % {"max": MAX_TAGS, "length": MAX_TAG_LENGTH}

    def clean_tags(self) -> list[str]:
        tags = []
        for tag in self.cleaned_data["tags"].split(","):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
        if not tags:
            raise forms.ValidationError(_("Enter at least one tag."), code="required")
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(
                _("A run has at most %(max)d tags.") % {"max": MAX_TAGS}, code="too_many"
            )
        long = [tag for tag in tags if len(tag) > MAX_TAG_LENGTH]
        if long:
            raise forms.ValidationError(
                _("Tags are at most %(length)d characters.") % {"length": MAX_TAG_LENGTH},
                code="too_long",
            )
        return tags


class ScheduleForm(forms.Form):
    """Create or replace a schedule. ``timezone`` choices are the API's own list."""

    task = forms.CharField(
        label=_("Task"), max_length=255, help_text=_("The id of a schedules.task().")
    )
    cron = forms.CharField(
        label=_("Cron expression"),
        max_length=255,
        help_text=_(
            "Five fields: minute hour day-of-month month day-of-week, e.g. "
            "0 9 * * 1-5 (seconds are not allowed)."
        ),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), initial="UTC")
    deduplication_key = forms.CharField(
        label=_("Deduplication key"),
        max_length=255,
        help_text=_("Creating a schedule with a key that exists updates that schedule."),
    )
    external_id = forms.CharField(label=_("External id"), max_length=255, required=False)

    def __init__(
        self, *args: Any, timezones: list[str], change: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(tz, tz) for tz in timezones]
        if change:  # the API ignores it on update
            del self.fields["deduplication_key"]

    def clean_task(self) -> str:
        try:
            return validators.task_identifier(self.cleaned_data["task"])
        except ValueError as err:
            raise forms.ValidationError(
                _("The task id %(reason)s.") % {"reason": err}, code="invalid"
            ) from None

    def clean_cron(self) -> str:
        try:
            from django_trigger.resources.schedules import validate_cron  # imports requests

            return validate_cron(self.cleaned_data["cron"])
        except ValueError as err:
            raise forms.ValidationError(str(err), code="invalid") from None


class EnvVarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    value = forms.CharField(
        label=_("Value"),
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        help_text=_("Never shown again on this page; use Reveal to read it back."),
    )
    is_secret = forms.BooleanField(
        label=_("Secret"),
        required=False,
        help_text=_("Secret values can never be read back through the API."),
    )

    def __init__(self, *args: Any, change: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if change:  # the API changes values only
            self.fields["name"].disabled = True
            del self.fields["is_secret"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not ENV_VAR_NAME.fullmatch(name):
            raise forms.ValidationError(
                _("Use ASCII letters, digits and underscores only."), code="invalid"
            )
        if name in RESERVED_ENV_VAR_NAMES:
            raise forms.ValidationError(
                _("%(name)s is set by Trigger.dev itself and cannot be written.") % {"name": name},
                code="reserved",
            )
        return name

    def clean_value(self) -> str:
        value = self.cleaned_data["value"]
        if not value.strip():
            raise forms.ValidationError(_("Enter a value."), code="required")
        return value
