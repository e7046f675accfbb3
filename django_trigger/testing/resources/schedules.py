"""Schedules, cron handling and the timezone list (API.md §6.5, §10).

A schedule belongs to a project and is bound to environments through *instances* (the API only
ever binds the caller's environment). The store follows ``UpsertTaskScheduleService`` and
``CheckScheduleService``:

* validation order: cron (``Invalid cron expression: …``, 5 fields at most, split on single
  spaces exactly as the server does) → timezone (must be in :func:`timezones`) → task exists
  in the project → task is a scheduled task → the schedule limit (creates only);
* an existing ``deduplicationKey`` (create) or id/key (PUT) updates that schedule and rebinds
  it to the caller's environment; a ``DECLARATIVE`` one refuses with ``Cannot update a
  declarative schedule``; PUT replaces ``externalId``, ``timezone`` (→ ``UTC``) and ``window``;
* the English description comes from ``cron-descriptor`` (a port of the ``cronstrue`` library
  the server uses); an expression ``cron-parser`` accepts but the describer cannot read (fewer
  than 5 fields) makes the server throw, answered 500;
* ``nextRun`` is the next nominal time (``croniter`` in the schedule's time zone) and
  ``nextRunEffectiveAt`` adds the stable per-instance offset of the schedule engine
  (HMAC phase × min(interval, max(60 s, window))).

Timezones: ``"UTC"`` then ICU's canonical zone ids, sorted — what ``Intl.supportedValuesOf(
"timeZone")`` returns in Node. They are built from the tz database's ``zone.tab`` (canonical,
country-located zones), renamed to the older ids ICU keeps (``Asia/Kolkata`` → ``Asia/Calcutta``)
plus the zones ICU still lists after tzdata merged them; so ``Etc/UTC`` and ``Asia/Kolkata`` are
*not* in the list and schedules using them get a 422, exactly as on the real server.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import importlib.resources
import json
import random
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from croniter import CroniterBadDateError, croniter

from ..world import Environment, format_date

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World

__all__ = [
    "DEFAULT_LIMIT",
    "Schedule",
    "ScheduleError",
    "ScheduleStore",
    "cron_error",
    "describe_cron",
    "next_run_times",
    "parse_window",
    "seed_schedules",
    "timezones",
]

DEFAULT_LIMIT = 100_000_000  # getLimit(org, "schedules", 100_000_000)
PHASE_DENOMINATOR = 2_147_483_648
MINIMUM_RANGE_MS = 60_000
MAX_WINDOW_SECONDS = 24 * 60 * 60


class ScheduleError(Exception):
    """A ``ServiceValidationError`` (answered 422 with the message)."""


class ScheduleServerError(Exception):
    """An unexpected throw inside the service (answered 500)."""


# -- timezones ---------------------------------------------------------------------------------

# ICU keeps the older ids of zones tzdata renamed.
_ICU_NAMES = {
    "Africa/Asmara": "Africa/Asmera",
    "America/Argentina/Buenos_Aires": "America/Buenos_Aires",
    "America/Argentina/Catamarca": "America/Catamarca",
    "America/Argentina/Cordoba": "America/Cordoba",
    "America/Argentina/Jujuy": "America/Jujuy",
    "America/Argentina/Mendoza": "America/Mendoza",
    "America/Atikokan": "America/Coral_Harbour",
    "America/Indiana/Indianapolis": "America/Indianapolis",
    "America/Kentucky/Louisville": "America/Louisville",
    "America/Nuuk": "America/Godthab",
    "Asia/Ho_Chi_Minh": "Asia/Saigon",
    "Asia/Kathmandu": "Asia/Katmandu",
    "Asia/Kolkata": "Asia/Calcutta",
    "Asia/Yangon": "Asia/Rangoon",
    "Atlantic/Faroe": "Atlantic/Faeroe",
    "Europe/Kyiv": "Europe/Kiev",
    "Pacific/Chuuk": "Pacific/Truk",
    "Pacific/Kanton": "Pacific/Enderbury",
    "Pacific/Pohnpei": "Pacific/Ponape",
}
# Zones ICU still lists as canonical although tzdata has merged them into others.
_ICU_RETAINED = (
    "America/Nipigon",
    "America/Pangnirtung",
    "America/Rainy_River",
    "America/Santa_Isabel",
    "America/Thunder_Bay",
    "America/Yellowknife",
    "Asia/Choibalsan",
    "Australia/Currie",
    "Europe/Uzhgorod",
    "Europe/Zaporozhye",
    "Pacific/Johnston",
)
_AREAS = re.compile(
    r"^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|"
    r"Pacific)/"
)


def _zone_tab() -> str | None:
    for base in zoneinfo.TZPATH:
        path = Path(base) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (
            importlib.resources.files("tzdata")
            .joinpath("zoneinfo/zone.tab")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@functools.lru_cache(maxsize=1)
def _canonical_zones() -> tuple[str, ...]:
    available = zoneinfo.available_timezones()
    table = _zone_tab()
    if table is not None:
        names = {
            line.split("\t")[2]
            for line in table.splitlines()
            if line.strip() and not line.startswith("#") and line.count("\t") >= 2
        }
    else:  # no zone.tab anywhere: keep the area/location ids
        names = {name for name in available if _AREAS.match(name)}
    zones = {_ICU_NAMES.get(name, name) for name in names}
    zones.update(_ICU_RETAINED)
    return tuple(sorted(z for z in zones if z in available))


def timezones(include_utc: bool = True) -> list[str]:
    """``getTimezones()``: ``"UTC"`` first (unless excluded), then the canonical ids sorted."""
    return (["UTC"] if include_utc else []) + list(_canonical_zones())


# -- cron --------------------------------------------------------------------------------------

_FIELDS = ("second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")
_DEFAULTS = ("0", "*", "*", "*", "*", "*")
_RANGES = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (0, 7),
}
_ALIASES = {
    "month": {
        m: i + 1
        for i, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
        )
    },
    "dayOfWeek": {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_PREDEFINED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_VALID_CHARS = re.compile(r"^[\d,*/?L#-]+$")


def _field_error(name: str, value: str) -> str | None:
    """cron-parser 4.x's complaint about one field, or ``None``."""
    if name in _ALIASES:
        aliases = _ALIASES[name]
        bad: list[str] = []

        def replace(match: re.Match[str]) -> str:
            alias = match.group(0).lower()
            if alias not in aliases:
                bad.append(alias)
                return alias
            return str(aliases[alias])

        value = re.sub(r"[a-z]{3}", replace, value, flags=re.IGNORECASE)
        if bad:
            return f'Validation error, cannot resolve alias "{bad[0]}"'
    if not _VALID_CHARS.match(value):
        return f"Invalid characters, got value: {value}"
    low, high = _RANGES[name]
    for atom in value.split(","):
        base, _, step = atom.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"Constraint error, cannot repeat at every {step} time."
        base = base.split("#")[0].rstrip("L") if name == "dayOfWeek" else base
        if base in ("*", "?", "L", ""):
            continue
        if "-" in base:
            start, _, end = base.partition("-")
            if not (start.isdigit() and end.isdigit()):
                return f"Invalid range: {base}"
            if int(start) < low or int(end) > high:
                return f"Constraint error, got range {start}-{end} expected range {low}-{high}"
            if int(start) > int(end):
                return f"Invalid range: {base}"
            continue
        if not base.isdigit() or not low <= int(base) <= high:
            return f"Constraint error, got value {base} expected range {low}-{high}"
    return None


def _expand(expression: str) -> list[str]:
    """cron-parser's field alignment: atoms fill the *last* of the six slots, the rest take the
    defaults (so ``"5 4"`` is month 5, day-of-week 4)."""
    expression = _PREDEFINED.get(expression, expression)
    atoms = expression.strip().split()
    start = len(_FIELDS) - len(atoms)
    return [
        _DEFAULTS[i] if i < start or not atoms[i - start] else atoms[i - start]
        for i in range(len(_FIELDS))
    ]


def cron_error(expression: str) -> str | None:
    """``CronPattern``'s message for an invalid expression (without the ``Invalid cron
    expression: `` prefix), or ``None`` when the server accepts it."""
    if len(expression.split(" ")) > 5:
        return "CRON expressions with seconds are not allowed"
    if expression == "":
        return "CRON expression is required"
    if len(_PREDEFINED.get(expression, expression).strip().split()) > 6:
        return "Invalid cron expression"
    fields = _expand(expression)
    for name, value in zip(_FIELDS, fields, strict=True):
        message = _field_error(name, value)
        if message:
            return message
    try:
        iterator = croniter(" ".join(fields[1:]), dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
    except (ValueError, KeyError) as exc:
        return str(exc) or "Invalid cron expression"
    try:
        iterator.get_next(dt.datetime)
    except CroniterBadDateError:  # e.g. "0 0 31 2 *": a day no listed month has
        return "Invalid explicit day of month definition"
    return None


@functools.lru_cache(maxsize=1024)  # cron-descriptor reads its translations on every call
def describe_cron(expression: str) -> str:
    """``cronstrue.toString`` via cron-descriptor. Raises :class:`ScheduleServerError` when the
    describer cannot read the expression (the server's route then answers 500)."""
    from cron_descriptor import Options, get_description

    parts = expression.strip().split()
    if len(parts) < 5 and expression.strip() not in _PREDEFINED:
        raise ScheduleServerError(
            f"Expression has only {len(parts)} parts. At least 5 parts are required."
        )
    options = Options()
    options.use_24hour_time_format = False
    options.verbose = False
    try:
        return get_description(_PREDEFINED.get(expression.strip(), expression), options)
    except Exception as exc:  # cron-descriptor raises its own exception types
        raise ScheduleServerError(str(exc)) from exc


def next_run_times(
    expression: str, timezone: str | None, after: dt.datetime, count: int = 1
) -> list[dt.datetime]:
    """The next ``count`` nominal times strictly after ``after``, evaluated in ``timezone``
    (daylight-saving aware); UTC when the zone is empty."""
    zone: dt.tzinfo = (
        zoneinfo.ZoneInfo(timezone) if timezone and timezone != "UTC" else dt.timezone.utc
    )
    fields = _expand(expression)
    iterator = croniter(" ".join(fields[1:]), after.astimezone(zone))
    return [iterator.get_next(dt.datetime).astimezone(dt.timezone.utc) for _ in range(count)]


# -- window ------------------------------------------------------------------------------------


def parse_window(value: str) -> tuple[int | None, int | None]:
    """``parseScheduleWindow`` → ``(duration_seconds, percentage)``; raises ``ValueError`` with
    the server's message."""
    match = re.fullmatch(r"(0|[1-9]\d*)([mh])", value)
    if match:
        seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 3600)
        if seconds > MAX_WINDOW_SECONDS:
            raise ValueError("Schedule window duration cannot exceed 24 hours")
        return seconds, None
    match = re.fullmatch(r"(0|[1-9]\d*)%", value)
    if match:
        if int(match.group(1)) > 100:
            raise ValueError("Schedule window percentage cannot exceed 100%")
        return None, int(match.group(1))
    raise ValueError(
        'Schedule window must be a whole duration such as "30m" or "2h", or a '
        'percentage such as "30%"'
    )


def format_window(duration_seconds: int | None, percentage: int | None) -> str | None:
    if percentage is not None:
        return f"{percentage}%"
    if duration_seconds is None:
        return None
    if duration_seconds == 0:
        return "0m"
    if duration_seconds % 3600 == 0:
        return f"{duration_seconds // 3600}h"
    return f"{duration_seconds // 60}m"


# -- schedules ---------------------------------------------------------------------------------


@dataclass
class Schedule:
    friendly_id: str
    project_ref: str
    task: str
    cron: str
    description: str
    deduplication_key: str
    created_at: dt.datetime
    seq: int
    type: str = "IMPERATIVE"
    user_provided_deduplication_key: bool = True
    timezone: str = "UTC"
    external_id: str | None = None
    window_seconds: int | None = None
    window_percentage: int | None = None
    active: bool = True
    environment_ids: list[str] = field(default_factory=list)  # the instances
    updated_at: dt.datetime | None = None

    @property
    def window(self) -> str | None:
        return format_window(self.window_seconds, self.window_percentage)


class ScheduleStore:
    """Every project's schedules. ``limit`` is the organisation's schedule limit (counted as
    the server does: active instances in non-development environments)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[str, Schedule] = {}
        self.limit = DEFAULT_LIMIT
        self._seq = 0  # creation order (an int: the world is pickled for reset)
        self._phase_secret = f"django-trigger-emulator:{world.seed}".encode()

    # -- lookups -----------------------------------------------------------------------------

    def find(self, project_ref: str, id_or_key: str) -> Schedule | None:
        """``scheduleWhereClause``: a ``sched_…`` value is an id, anything else a
        deduplication key."""
        for schedule in self.by_id.values():
            if schedule.project_ref != project_ref:
                continue
            if id_or_key.startswith("sched_"):
                if schedule.friendly_id == id_or_key:
                    return schedule
            elif schedule.deduplication_key == id_or_key:
                return schedule
        return None

    def visibility(self, env: Environment, id_or_key: str) -> tuple[str, Schedule | None]:
        """``getScheduleEnvVisibility``: ``visible`` / ``hidden`` (bound to other environments
        only) / ``missing``."""
        schedule = self.find(env.project_ref, id_or_key)
        if schedule is None:
            return "missing", None
        if schedule.environment_ids and env.id not in schedule.environment_ids:
            return "hidden", schedule
        return "visible", schedule

    def in_environment(self, env: Environment) -> list[Schedule]:
        """Newest first, as the list presenter orders them."""
        found = [
            s
            for s in self.by_id.values()
            if s.project_ref == env.project_ref and env.id in s.environment_ids
        ]
        return sorted(found, key=lambda s: (s.created_at, s.seq), reverse=True)

    def used_count(self, project_ref: str) -> int:
        count = 0
        for schedule in self.by_id.values():
            if schedule.project_ref != project_ref or not schedule.active:
                continue
            for env_id in schedule.environment_ids:
                env = self.world.environments.get(env_id)
                if env is not None and env.type != "DEVELOPMENT" and not env.archived:
                    count += 1
        return count

    # -- writes ------------------------------------------------------------------------------

    def check(
        self,
        env: Environment,
        task: str,
        cron: str,
        timezone: str | None,
        *,
        creating: bool,
        origin: str,
    ) -> None:
        """``CheckScheduleService``; raises :class:`ScheduleError`. ``origin`` is the app
        origin the timezone message links to."""
        problem = cron_error(cron)
        if problem:
            raise ScheduleError(f"Invalid cron expression: {problem}")
        if timezone and timezone not in timezones():
            raise ScheduleError(
                f"Invalid IANA timezone: '{timezone}'. View the list of valid timezones at "
                f"{origin}/timezones"
            )
        tasks = self.world.deployments.tasks_of(env.project_ref)
        if task not in tasks:
            raise ScheduleError(f"Task with identifier {task} not found in project.")
        if tasks[task] != "SCHEDULED":
            raise ScheduleError(f"Task with identifier {task} is not a scheduled task.")
        if creating:
            used = self.used_count(env.project_ref)
            if used >= self.limit:
                raise ScheduleError(
                    f"You have created {used}/{self.limit} schedules so you'll need to increase "
                    "your limits or delete some schedules."
                )

    def upsert(
        self,
        env: Environment,
        *,
        task: str,
        cron: str,
        timezone: str | None,
        external_id: str | None,
        window: str | None,
        deduplication_key: str | None = None,
        id_or_key: str | None = None,
        origin: str = "https://cloud.trigger.dev",
    ) -> Schedule:
        """``UpsertTaskScheduleService.call`` for one environment (``id_or_key`` for PUT). An
        existing schedule keeps its task (the server never rewrites it)."""
        self.check(env, task, cron, timezone, creating=id_or_key is None, origin=origin)
        key = deduplication_key or self.world.ids.chars("schedule-dedup", 24)
        existing = (
            self.find(env.project_ref, id_or_key)
            if id_or_key is not None
            else self._by_key(env.project_ref, key)
        )
        if existing is not None and existing.type == "DECLARATIVE":
            raise ScheduleError("Cannot update a declarative schedule")
        description = describe_cron(cron)
        seconds, percentage = parse_window(window) if window is not None else (None, None)
        now = self.world.now()
        if existing is None:
            self._seq += 1
            schedule = Schedule(
                friendly_id=self.world.ids.friendly("sched"),
                project_ref=env.project_ref,
                task=task,
                cron=cron,
                description=description,
                deduplication_key=key,
                user_provided_deduplication_key=bool(deduplication_key),
                created_at=now,
                seq=self._seq,
                timezone=timezone if timezone is not None else "UTC",
                external_id=external_id or None,
                window_seconds=seconds,
                window_percentage=percentage,
                environment_ids=[env.id],
                updated_at=now,
            )
            self.by_id[schedule.friendly_id] = schedule
            return schedule
        existing.cron, existing.description = cron, description
        existing.timezone = timezone if timezone is not None else "UTC"
        existing.external_id = external_id or None
        existing.window_seconds, existing.window_percentage = seconds, percentage
        existing.environment_ids = [env.id]  # instances outside the caller's env are removed
        existing.updated_at = now
        return existing

    def _by_key(self, project_ref: str, key: str) -> Schedule | None:
        for schedule in self.by_id.values():
            if schedule.project_ref == project_ref and schedule.deduplication_key == key:
                return schedule
        return None

    def add(
        self,
        env: Environment,
        *,
        task: str,
        cron: str,
        deduplication_key: str | None,
        created_at: dt.datetime,
        type: str = "IMPERATIVE",
        timezone: str = "UTC",
        external_id: str | None = None,
        active: bool = True,
        window: str | None = None,
        friendly_id: str | None = None,
    ) -> Schedule:
        """Store a schedule directly (seeding and tests): no validation."""
        seconds, percentage = parse_window(window) if window is not None else (None, None)
        self._seq += 1
        schedule = Schedule(
            friendly_id=friendly_id or self.world.ids.friendly("sched"),
            project_ref=env.project_ref,
            task=task,
            cron=cron,
            description=describe_cron(cron),
            deduplication_key=deduplication_key or self.world.ids.chars("schedule-dedup", 24),
            user_provided_deduplication_key=deduplication_key is not None,
            created_at=created_at,
            seq=self._seq,
            type=type,
            timezone=timezone,
            external_id=external_id,
            window_seconds=seconds,
            window_percentage=percentage,
            active=active,
            environment_ids=[env.id],
            updated_at=created_at,
        )
        self.by_id[schedule.friendly_id] = schedule
        return schedule

    def delete(self, schedule: Schedule) -> None:
        self.by_id.pop(schedule.friendly_id, None)

    # -- timing ------------------------------------------------------------------------------

    def phase(self, env_id: str, schedule: Schedule) -> int:
        message = json.dumps(
            ["cron-phase-v1", env_id, schedule.deduplication_key], separators=(",", ":")
        )
        digest = hmac.new(self._phase_secret, message.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big") & (PHASE_DENOMINATOR - 1)

    def next_run(self, schedule: Schedule, env_id: str) -> tuple[dt.datetime, dt.datetime]:
        """``(nominal, effective)`` of the next occurrence for this environment's instance."""
        nominal, following = next_run_times(schedule.cron, schedule.timezone, self.world.now(), 2)
        interval = int((following - nominal).total_seconds() * 1000)
        if schedule.window_percentage is not None:
            window_ms = interval * schedule.window_percentage // 100
        else:
            window_ms = (schedule.window_seconds or 0) * 1000
        effective_range = min(interval, max(MINIMUM_RANGE_MS, window_ms))
        offset = self.phase(env_id, schedule) * effective_range // PHASE_DENOMINATOR
        return nominal, nominal + dt.timedelta(milliseconds=offset)

    # -- rendering ---------------------------------------------------------------------------

    def _common(self, schedule: Schedule) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": schedule.friendly_id,
            "type": schedule.type,
            "task": schedule.task,
            "active": schedule.active,
            "generator": {
                "type": "CRON",
                "expression": schedule.cron,
                "description": schedule.description,
            },
            "timezone": schedule.timezone,
        }
        if schedule.window is not None:
            data["window"] = schedule.window
        return data

    def _user_name(self, env: Environment) -> str | None:
        user = self.world.user(env.owner_user_id)
        return (user.display_name or user.name) if user else None

    def render_upsert(self, schedule: Schedule, env: Environment) -> dict[str, Any]:
        """Create / update answer: ``externalId`` omitted when unset, environments with
        ``shortcode``."""
        data = self._common(schedule)
        if schedule.external_id:
            data["externalId"] = schedule.external_id
        if schedule.user_provided_deduplication_key:
            data["deduplicationKey"] = schedule.deduplication_key
        environments = []
        for env_id in schedule.environment_ids:
            other = self.world.environments[env_id]
            item: dict[str, Any] = {
                "id": other.id,
                "shortcode": other.shortcode,
                "type": other.type,
            }
            name = self._user_name(other)
            if name:
                item["userName"] = name
            environments.append(item)
        data["environments"] = environments
        nominal, effective = self.next_run(schedule, env.id)
        data["nextRun"] = format_date(nominal)
        data["nextRunEffectiveAt"] = format_date(effective)
        return data

    def render_view(self, schedule: Schedule, env: Environment) -> dict[str, Any]:
        """Retrieve / activate / deactivate answer: ``nextRun`` null while inactive,
        environments as ``{id, type}``."""
        data = self._common(schedule)
        if schedule.active:
            nominal, effective = self.next_run(schedule, env.id)
            data["nextRun"] = format_date(nominal)
            data["nextRunEffectiveAt"] = format_date(effective)
        else:
            data["nextRun"] = data["nextRunEffectiveAt"] = None
        if schedule.external_id:
            data["externalId"] = schedule.external_id
        if schedule.user_provided_deduplication_key:
            data["deduplicationKey"] = schedule.deduplication_key
        data["environments"] = [
            {"id": e, "type": self.world.environments[e].type} for e in schedule.environment_ids
        ]
        return data

    def render_list_item(self, schedule: Schedule, env: Environment) -> dict[str, Any]:
        """List item: ``externalId`` is ``null`` when unset, environments with ``slug``
        (+ ``userName`` for development, ``branchName`` for branches)."""
        data = self._common(schedule)
        if schedule.user_provided_deduplication_key:
            data["deduplicationKey"] = schedule.deduplication_key
        data["externalId"] = schedule.external_id
        nominal, effective = self.next_run(schedule, env.id)
        data["nextRun"] = format_date(nominal)
        data["nextRunEffectiveAt"] = format_date(effective)
        environments = []
        for env_id in schedule.environment_ids:
            other = self.world.environments[env_id]
            item: dict[str, Any] = {"id": other.id, "type": other.type, "slug": other.slug}
            if other.type == "DEVELOPMENT":
                name = self._user_name(other)
                item["userName"] = name if name else "Deleted"
            if other.branch_name:
                item["branchName"] = other.branch_name
            environments.append(item)
        data["environments"] = environments
        return data


# -- seed --------------------------------------------------------------------------------------

_ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/Paris",
    "Australia/Sydney",
    "America/Los_Angeles",
)
_CRONS = (
    "0 9 * * *",
    "30 8 * * 1-5",
    "0 */6 * * *",
    "0 0 1 * *",
    "15 17 * * 5",
    "0 7 * * 1",
    "*/30 * * * *",
)


def seed_schedules(world: World, rng: random.Random) -> None:
    """The ``nightly-cleanup`` task's declarative schedule (``0 3 * * *``) in every environment
    of the default and second projects — with the ids the seeded scheduled runs refer to — and,
    in the default project, 24 imperative per-tenant schedules in the default dev environment
    (so the list has two pages of 20), a few in staging and production, one created in the
    dashboard (no deduplication key), some inactive, some with a time zone or a window."""
    from .runs_seed import SCHEDULE_EXPRESSION, SCHEDULED_TASK, _schedule

    store: ScheduleStore = world.schedules
    anchor = world.seeded_at
    for project in (world.default_project, world.second_project):
        for env in world.project_environments(project.ref):
            if env.type == "PREVIEW" and env.parent_id is None:
                continue
            store.add(
                env,
                task=SCHEDULED_TASK,
                cron=SCHEDULE_EXPRESSION,
                deduplication_key=None,
                created_at=anchor - dt.timedelta(days=40),
                type="DECLARATIVE",
                friendly_id=_schedule(world, env)["id"],
            )
    slugs = world.environments_by_public_slug(world.default_project.ref)
    dev, staging, prod = slugs["dev"], slugs["staging"], slugs["prod"]
    for n in range(1, 25):
        store.add(
            dev,
            task=SCHEDULED_TASK,
            cron=_CRONS[n % len(_CRONS)],
            deduplication_key=f"tenant-{n}-digest",
            external_id=f"tenant_{n}",
            timezone=_ZONES[n % len(_ZONES)],
            active=n % 7 != 0,
            window="30m" if n == 5 else ("10%" if n == 6 else None),
            created_at=anchor - dt.timedelta(days=30) + dt.timedelta(hours=n * 7 + rng.random()),
        )
    store.add(
        dev,
        task=SCHEDULED_TASK,
        cron="0 12 * * *",
        deduplication_key=None,
        created_at=anchor - dt.timedelta(days=2),
    )  # made in the dashboard
    for env, count in ((staging, 2), (prod, 3)):
        for n in range(1, count + 1):
            store.add(
                env,
                task=SCHEDULED_TASK,
                cron=_CRONS[n],
                deduplication_key=f"{env.slug}-report-{n}",
                external_id=f"org_{n}",
                timezone=_ZONES[n],
                created_at=anchor - dt.timedelta(days=10 - n),
            )
