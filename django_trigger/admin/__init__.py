"""Runs, schedules, environment variables and waitpoint tokens of Trigger.dev in the Django
admin.

Importing this package (Django's admin autodiscovery does) registers ``RunAdmin``,
``ScheduleAdmin``, ``EnvVarAdmin`` and ``WaitpointTokenAdmin`` on ``admin.site``. The models
have no table: every row comes from the API through the queryset-like wrappers of
``querysets.py``. docs/admin.md describes what staff see and the
permissions involved.
"""

from .envvars import EnvVarAdmin
from .overview import OverviewAdmin
from .runs import RunAdmin
from .schedules import ScheduleAdmin
from .waitpoints import WaitpointTokenAdmin

__all__ = ["EnvVarAdmin", "OverviewAdmin", "RunAdmin", "ScheduleAdmin", "WaitpointTokenAdmin"]
