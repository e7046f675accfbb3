"""Forms of the example pages. They reject bad input before anything is sent to Trigger.dev."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from django_trigger.types import RunStatus

MAX_TAGS = 10
MAX_TAG_LENGTH = 128
_DELAY = re.compile(r"^\d+[smhdw]$")


class RunFilterForm(forms.Form):
    """``?client=…&status=…`` of the runs list (the cursors are read by the view)."""

    client = forms.ChoiceField(label=_("Client"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args: Any, aliases: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = [(alias, alias) for alias in aliases]
        self.fields["status"].choices = [("", _("All statuses"))] + [
            (status.value, status.value) for status in RunStatus.v2()
        ]


class TriggerTaskForm(forms.Form):
    """Trigger one run. ``form_token`` is a UUID made when the form is rendered: submitting the
    same rendered form twice sends the same token, hence the same idempotency key, so
    Trigger.dev returns the first run instead of starting a second one."""

    task = forms.CharField(
        label=_("Task"),
        max_length=128,
        initial="send-email",
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
                _("A task identifier is made of letters, digits, “-”, “_”, “.” and “:”."),
            )
        ],
        help_text=_("The id of a task in your project, e.g. send-email."),
    )
    payload = forms.JSONField(
        label=_("Payload (JSON)"),
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Comma-separated, at most 10."),
    )
    delay = forms.CharField(
        label=_("Delay"),
        required=False,
        max_length=16,
        help_text=_("Start later, e.g. 30s, 10m, 2h (empty: now)."),
    )
    form_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4())

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(
                _("A run has at most %(max)d tags."), params={"max": MAX_TAGS}, code="max_tags"
            )
        for tag in tags:
            if len(tag) > MAX_TAG_LENGTH:
                raise forms.ValidationError(
                    _("A tag is at most %(max)d characters."),
                    params={"max": MAX_TAG_LENGTH},
                    code="tag_length",
                )
        return tags

    def clean_delay(self) -> str | None:
        delay = self.cleaned_data["delay"].strip()
        if not delay:
            return None
        if not _DELAY.match(delay):
            raise forms.ValidationError(
                _("Write a delay as a number and a unit: 30s, 10m, 2h, 1d or 1w."),
                code="delay",
            )
        return delay

    def idempotency_key(self, user_id: object) -> str:
        """The key sent to Trigger.dev: this form's token, scoped to the user who sent it."""
        return f"example-trigger:{user_id}:{self.cleaned_data['form_token']}"


class ChatMessageForm(forms.Form):
    """One message of the chat page (sent to the agent session's ``.in`` channel)."""

    message = forms.CharField(
        label=_("Message"),
        max_length=4000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 60}),
    )
