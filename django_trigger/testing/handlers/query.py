"""Query routes (docs/API-ADDENDUM.md §17): ``POST /api/v1/query`` (api.v1.query.ts) over the
emulator's runs with a TRQL subset (``resources/trql.py``), and the query dashboards.

============================================================  =================================
``POST   /api/v1/query``                                      ``{query, scope, period, from, to,
                                                              format}`` → ``{format, results}``
``GET    /api/v1/query/dashboards``                           built-in + custom summaries
``POST   /api/v1/query/dashboards``                           create (with widgets)
``GET    /api/v1/query/dashboards/{id}``                      a custom dashboard
``PATCH  /api/v1/query/dashboards/{id}``                      title/description
``PUT    /api/v1/query/dashboards/{id}``                      replace the widgets
``DELETE /api/v1/query/dashboards/{id}``                      ``{id}``
``POST   /api/v1/query/dashboards/{id}/widgets``              ``{widgetId, dashboard}``
``PATCH  /api/v1/query/dashboards/{id}/widgets/{widgetId}``   the dashboard
``DELETE /api/v1/query/dashboards/{id}/widgets/{widgetId}``   ``?revision=``; the dashboard
============================================================  =================================

All are family A with public JWTs, authorised on ``{type: "query", id: <table>}`` (the query)
or ``{type: "query", id: "dashboards"}``. A JWT may only query at ``environment`` scope (403
otherwise, queryScope.ts). Writes that carry a ``revision`` other than the dashboard's get 409.
The dashboard routes after the list are not in the mirrored server source: they follow the SDK
4.8.3 schemas (``packages/core/src/v3/schemas/query.ts``) and docs/emulator.md names the choices.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from .. import auth, errors
from ..app import ApiRequest, Router
from ..errors import Reply, json_reply
from ..resources import trql
from ..resources.dashboards import BUILT_IN, Dashboard, DashboardStore, Widget
from ..validation import MISSING, Checker
from ..world import Environment

STORES = {"dashboards": DashboardStore}
DEFAULT_PERIOD = dt.timedelta(days=7)
MAX_PERIOD = dt.timedelta(days=30)  # the plan's queryPeriodDays (the free plan's default)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)", re.ASCII)
_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31_557_600,
}
SCOPES = ("organization", "project", "environment")
DISPLAY_TYPES = ("table", "chart", "bignumber", "title")
WIDGET_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def register(router: Router) -> None:
    base = "/api/v1/query/dashboards"
    router.post(
        "/api/v1/query", execute_query, auth=auth.BEARER_JWT, authorization="read", cors=True
    )
    router.get(base, list_dashboards, auth=auth.BEARER_JWT, authorization="read", cors=True)
    router.post(base, create_dashboard, auth=auth.BEARER_JWT, authorization="write")
    one = base + "/{dashboardId}"
    router.get(one, retrieve_dashboard, auth=auth.BEARER_JWT, authorization="read")
    router.patch(one, update_dashboard, auth=auth.BEARER_JWT, authorization="write")
    router.put(one, replace_dashboard, auth=auth.BEARER_JWT, authorization="write")
    router.delete(one, delete_dashboard, auth=auth.BEARER_JWT, authorization="write")
    router.post(one + "/widgets", add_widget, auth=auth.BEARER_JWT, authorization="write")
    widget = one + "/widgets/{widgetId}"
    router.patch(widget, update_widget, auth=auth.BEARER_JWT, authorization="write")
    router.delete(widget, delete_widget, auth=auth.BEARER_JWT, authorization="write")


def _env(request: ApiRequest) -> Environment:
    env = request.principal.environment
    assert env is not None
    return env


# -- POST /api/v1/query ------------------------------------------------------------------------


def parse_duration(text: str) -> dt.timedelta | None:
    """``parse-duration`` as the server uses it: ``"7d"``, ``"1h30m"``; ``None`` if unreadable."""
    compact = text.strip().lower()
    parts = _DURATION_PART.findall(compact)
    if not parts or _DURATION_PART.sub("", compact).strip():
        return None
    return dt.timedelta(seconds=sum(float(n) * _DURATION_UNITS[u] for n, u in parts))


def _date(value: str, name: str) -> dt.datetime:
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return dt.datetime.fromtimestamp(int(text) / 1000, dt.timezone.utc)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.api_error(400, f"Invalid {name} date: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class _Context:
    def __init__(self, request: ApiRequest) -> None:
        self.world = request.world

    def env_slug(self, run: Any) -> str:
        return self.world.environments[run.environment_id].slug

    def env_type(self, run: Any) -> str:
        return self.world.environments[run.environment_id].type


def _scoped_runs(request: ApiRequest, scope: str) -> list[Any]:
    world = request.world
    env = _env(request)
    if scope == "environment":
        env_ids = {env.id}
    else:
        project = world.projects[env.project_ref]
        refs = (
            {project.ref}
            if scope == "project"
            else {p.ref for p in world.projects.values() if p.org_id == project.org_id}
        )
        env_ids = {e.id for e in world.environments.values() if e.project_ref in refs}
    runs: list[Any] = []
    for env_id in env_ids:
        runs.extend(world.runs.in_environment(env_id))
    return runs


def execute_query(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    query = scope = period = start = end = fmt = MISSING
    if check.object(body):
        query = check.string(body, "query")
        scope = check.enum(body, "scope", SCOPES, required=False) or "environment"
        period = check.string(body, "period", required=False, nullable=True)
        start = check.string(body, "from", required=False, nullable=True)
        end = check.string(body, "to", required=False, nullable=True)
        fmt = check.enum(body, "format", ("json", "csv"), required=False) or "json"
    check.raise_body_error()
    table = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", query, re.IGNORECASE)
    with request.world.lock:
        request.authorize([("query", table.group(1) if table else "__unparseable__")])
        if request.principal.kind != "secret_key" and scope != "environment":
            raise errors.api_error(
                403,
                "This token is scoped to one environment, so it can't run a "
                f'{scope}-scoped query. Use scope "environment", or a secret key.',
            )
        now = request.world.now()
        # timeFilters: a period wins over from/to; an unreadable period means 7 days.
        lower: dt.datetime | None
        upper: dt.datetime | None = None
        if period:
            lower = now - (parse_duration(period) or DEFAULT_PERIOD)
        elif start or end:
            lower = _date(start, "from") if start else None
            upper = _date(end, "to") if end else None
        else:
            lower = now - DEFAULT_PERIOD
        floor = now - MAX_PERIOD  # the plan's limit is enforced on every query
        lower = max(lower, floor) if lower is not None else floor
        try:
            parsed = trql.parse(query)
        except trql.TrqlError as exc:
            raise errors.api_error(400, str(exc)) from None
        runs = [
            r
            for r in _scoped_runs(request, scope)
            if r.created_at >= lower and (upper is None or r.created_at <= upper)
        ]
        bucket = trql.bucket_seconds((upper or now) - lower)
        try:
            rows = trql.evaluate(parsed, runs, _Context(request), bucket)
        except trql.TrqlError as exc:
            raise errors.api_error(400, str(exc)) from None
    if fmt == "csv":
        return json_reply({"format": "csv", "results": _csv(rows, parsed.columns)})
    return json_reply({"format": "json", "results": rows})


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """``rowsToCSV``: a header row, then one line per row; quoted only when needed."""
    if not columns:
        return ""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            text = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        if any(c in text for c in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(cell(c) for c in columns)]
    lines += [",".join(cell(row.get(c)) for c in columns) for row in rows]
    return "\n".join(lines)


# -- dashboards ---------------------------------------------------------------------------------


def _store(request: ApiRequest) -> DashboardStore:
    return request.world.dashboards


def _org(request: ApiRequest) -> str:
    return request.world.projects[_env(request).project_ref].org_id


def _dashboard(request: ApiRequest) -> Dashboard:
    request.authorize([("query", "dashboards")])
    found = _store(request).find(_org(request), request.params["dashboardId"])
    if found is None:
        raise errors.api_error(404, "Dashboard not found")
    return found


def _check_revision(dashboard: Dashboard, revision: Any) -> None:
    if revision not in (MISSING, None) and revision != dashboard.revision:
        raise errors.api_error(
            409,
            "The dashboard has changed since revision "
            f"{revision}: retrieve it and apply your change again",
            revision=dashboard.revision,
        )


def _strict(check: Checker, body: dict[str, Any], allowed: tuple[str, ...], path: list) -> None:
    unknown = [k for k in body if k not in allowed]
    if unknown:
        check.add(
            path,
            "Unrecognized key(s) in object: " + ", ".join(f"'{k}'" for k in unknown),
            "unrecognized_keys",
            keys=unknown,
        )


def _title(check: Checker, body: dict[str, Any], required: bool, path: list) -> Any:
    value = check.string(body, "title", required=required, path=[*path, "title"])
    if isinstance(value, str):
        value = value.strip()
        check.string({"title": value}, "title", min_length=1, max_length=200, path=[*path, "title"])
    return value


def _nullable_string(check: Checker, display: dict[str, Any], key: str, path: list) -> Any:
    if display.get(key, MISSING) is None:
        return None
    return check.string(display, key, path=[*path, key])


def _display(check: Checker, value: Any, path: list) -> dict[str, Any] | None:
    """``DashboardWidgetDisplay``: the discriminated union, defaults applied."""
    if not check.object(value, path):
        return None
    kind = check.enum(value, "type", DISPLAY_TYPES, path=[*path, "type"])
    if kind is MISSING:
        return None
    out: dict[str, Any] = {"type": kind}
    if kind == "table":
        pretty = check.boolean(value, "prettyFormatting")
        out["prettyFormatting"] = True if pretty is MISSING else pretty
        sorting = check.array(value, "sorting", required=False, path=[*path, "sorting"])
        out["sorting"] = [] if sorting is MISSING else sorting
        for n, entry in enumerate(out["sorting"]):
            if check.object(entry, [*path, "sorting", n]):
                check.boolean(entry, "desc", required=True)
                check.string(entry, "id", path=[*path, "sorting", n, "id"])
    elif kind == "chart":
        out["chartType"] = check.enum(
            value, "chartType", ("bar", "line"), path=[*path, "chartType"]
        )
        for key in ("xAxisColumn", "groupByColumn", "sortByColumn"):
            out[key] = _nullable_string(check, value, key, path)
        columns = check.array(value, "yAxisColumns", path=[*path, "yAxisColumns"])
        if columns is not MISSING:
            for n in range(len(columns)):
                check.string(columns, n, path=[*path, "yAxisColumns", n])  # type: ignore[arg-type]
        out["yAxisColumns"] = columns
        out["stacked"] = check.boolean(value, "stacked", required=True)
        out["sortDirection"] = check.enum(
            value, "sortDirection", ("asc", "desc"), path=[*path, "sortDirection"]
        )
        out["aggregation"] = check.enum(
            value, "aggregation", ("sum", "avg", "count", "min", "max"), path=[*path, "aggregation"]
        )
        if "seriesColors" in value:
            check.object(value["seriesColors"], [*path, "seriesColors"])
            out["seriesColors"] = value["seriesColors"]
    elif kind == "bignumber":
        out["column"] = check.string(value, "column", path=[*path, "column"])
        out["aggregation"] = check.enum(
            value,
            "aggregation",
            ("sum", "avg", "count", "min", "max", "first", "last"),
            path=[*path, "aggregation"],
        )
        direction = check.enum(
            value, "sortDirection", ("asc", "desc"), required=False, path=[*path, "sortDirection"]
        )
        if direction is not MISSING:
            out["sortDirection"] = direction
        abbreviate = check.boolean(value, "abbreviate")
        out["abbreviate"] = False if abbreviate is MISSING else abbreviate
        for key in ("prefix", "suffix"):
            text = check.string(value, key, required=False, path=[*path, key])
            if text is not MISSING:
                out[key] = text
    return out


def _position(check: Checker, value: Any, path: list) -> dict[str, int] | None:
    if not check.object(value, path):
        return None
    out = {}
    for key, low, high in (("x", 0, 11), ("y", 0, None), ("w", 1, 12), ("h", 1, None)):
        number = check.number(
            value, key, integer=True, minimum=low, maximum=high, path=[*path, key]
        )
        if number is not MISSING:
            out[key] = int(number)
    return out


class _WidgetInput:
    def __init__(self, data: dict[str, Any]) -> None:
        self.id: str | None = data.get("id")
        self.title: str = data["title"]
        self.query: str = data.get("query", "")
        self.display: dict[str, Any] = data["display"]
        self.fill_gaps: bool | None = data.get("fillGaps")
        self.position: dict[str, int] | None = data.get("position")


def _widget_input(
    check: Checker, value: Any, path: list, *, extra: tuple[str, ...] = ()
) -> _WidgetInput | None:
    """``DashboardWidgetInput`` (strict): id?, title, query (required unless a title widget),
    display, fillGaps?, position?."""
    if not check.object(value, path):
        return None
    _strict(check, value, ("id", "title", "query", "display", "fillGaps", "position", *extra), path)
    before = len(check.issues)
    data: dict[str, Any] = {}
    widget_id = check.string(value, "id", required=False, path=[*path, "id"])
    if isinstance(widget_id, str):
        if not WIDGET_ID.match(widget_id):
            check.add([*path, "id"], "id may only contain letters, numbers, _ and -")
        data["id"] = widget_id
    data["title"] = _title(check, value, True, path)
    query = check.string(value, "query", required=False, path=[*path, "query"])
    data["query"] = "" if query is MISSING else query
    data["display"] = _display(check, value.get("display", MISSING), [*path, "display"])
    fill = check.boolean(value, "fillGaps")
    if fill is not MISSING:
        data["fillGaps"] = fill
    if "position" in value:
        data["position"] = _position(check, value["position"], [*path, "position"])
    if len(check.issues) > before:
        return None
    if data["display"]["type"] != "title" and not data["query"].strip():
        check.add([*path, "query"], 'A query is required unless display.type is "title"')
        return None
    return _WidgetInput(data)


def _place(store: DashboardStore, dashboard: Dashboard, inputs: list[_WidgetInput]) -> None:
    """Replace the widgets with ``inputs`` (in their order): kept ids keep their position
    unless given one; new widgets without a position go full width below the others."""
    old = {w.id: w.position for w in dashboard.widgets}
    positions = [e.position or (old.get(e.id) if e.id else None) for e in inputs]
    widgets: list[Widget | None] = [
        _widget(store, dashboard, e, e.id or "", p) if p is not None else None
        for e, p in zip(inputs, positions, strict=True)
    ]
    placed = [w for w in widgets if w is not None]
    for n, entry in enumerate(inputs):
        if widgets[n] is None:
            widget = _widget(
                store, dashboard, entry, entry.id or "", store.below(placed, entry.display["type"])
            )
            widgets[n] = widget
            placed.append(widget)
    dashboard.widgets = [w for w in widgets if w is not None]


def _widget(
    store: DashboardStore,
    dashboard: Dashboard,
    entry: _WidgetInput,
    widget_id: str,
    position: dict[str, int],
) -> Widget:
    return Widget(
        widget_id or store.new_widget_id(dashboard),
        entry.title,
        entry.query,
        entry.display,
        position,
        entry.fill_gaps,
    )


def _unique_ids(check: Checker, inputs: list[_WidgetInput]) -> None:
    seen: set[str] = set()
    for n, entry in enumerate(inputs):
        if entry.id and entry.id in seen:
            check.add(["widgets", n, "id"], f'Widget id "{entry.id}" is used more than once')
        if entry.id:
            seen.add(entry.id)


def _widget_list(check: Checker, body: dict[str, Any], required: bool) -> list[_WidgetInput]:
    widgets = check.array(body, "widgets", required=required)
    inputs: list[_WidgetInput] = []
    if widgets is not MISSING:
        for n, value in enumerate(widgets):
            entry = _widget_input(check, value, ["widgets", n])
            if entry is not None:
                inputs.append(entry)
        _unique_ids(check, inputs)
    return inputs


def list_dashboards(request: ApiRequest) -> Reply:
    with request.world.lock:
        request.authorize([("query", "dashboards")])
        built_in = [{**d, "type": "builtIn"} for d in BUILT_IN]
        custom = [d.summary() for d in _store(request).of_org(_org(request))]
        return json_reply({"dashboards": built_in + custom})


def create_dashboard(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    title = description = MISSING
    inputs: list[_WidgetInput] = []
    if check.object(body):
        _strict(check, body, ("title", "description", "widgets"), [])
        title = _title(check, body, True, [])
        description = check.string(body, "description", required=False, max_length=2000)
        inputs = _widget_list(check, body, required=False)
    check.raise_body_error()
    with request.world.lock:
        request.authorize([("query", "dashboards")])
        store = _store(request)
        dashboard = store.create(
            _org(request), title, "" if description is MISSING else description
        )
        _place(store, dashboard, inputs)
        return json_reply(dashboard.render())


def retrieve_dashboard(request: ApiRequest) -> Reply:
    with request.world.lock:
        return json_reply(_dashboard(request).render())


def update_dashboard(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    title = description = revision = MISSING
    if check.object(body):
        _strict(check, body, ("title", "description", "revision"), [])
        title = _title(check, body, False, [])
        description = check.string(body, "description", required=False, max_length=2000)
        revision = check.string(body, "revision", required=False)
    check.raise_body_error()
    with request.world.lock:
        dashboard = _dashboard(request)
        _check_revision(dashboard, revision)
        if title is not MISSING:
            dashboard.title = title
        if description is not MISSING:
            dashboard.description = description
        _store(request).touch(dashboard)
        return json_reply(dashboard.render())


def replace_dashboard(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    title = description = revision = MISSING
    inputs: list[_WidgetInput] = []
    if check.object(body):
        _strict(check, body, ("title", "description", "widgets", "revision"), [])
        title = _title(check, body, False, [])
        description = check.string(body, "description", required=False, max_length=2000)
        inputs = _widget_list(check, body, required=True)
        revision = check.string(body, "revision", required=False)
    check.raise_body_error()
    with request.world.lock:
        dashboard = _dashboard(request)
        _check_revision(dashboard, revision)
        store = _store(request)
        if title is not MISSING:
            dashboard.title = title
        if description is not MISSING:
            dashboard.description = description
        _place(store, dashboard, inputs)
        store.touch(dashboard)
        return json_reply(dashboard.render())


def delete_dashboard(request: ApiRequest) -> Reply:
    with request.world.lock:
        dashboard = _dashboard(request)
        _store(request).delete(dashboard)
        return json_reply({"id": dashboard.id})


def add_widget(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    entry = _widget_input(check, body, [], extra=("revision",))
    revision = check.string(body, "revision", required=False) if isinstance(body, dict) else None
    check.raise_body_error()
    assert entry is not None
    with request.world.lock:
        dashboard = _dashboard(request)
        _check_revision(dashboard, revision)
        store = _store(request)
        if entry.id and dashboard.widget(entry.id) is not None:
            raise errors.api_error(400, f'A widget with id "{entry.id}" already exists')
        position = entry.position or store.below(dashboard.widgets, entry.display["type"])
        widget = _widget(store, dashboard, entry, entry.id or "", position)
        dashboard.widgets.append(widget)
        store.touch(dashboard)
        return json_reply({"widgetId": widget.id, "dashboard": dashboard.render()})


def update_widget(request: ApiRequest) -> Reply:
    body = request.json()
    check = Checker()
    changes: dict[str, Any] = {}
    revision = MISSING
    if check.object(body):
        _strict(check, body, ("title", "query", "display", "fillGaps", "position", "revision"), [])
        changes["title"] = _title(check, body, False, [])
        changes["query"] = check.string(body, "query", required=False)
        if "display" in body:
            changes["display"] = _display(check, body["display"], ["display"])
        changes["fill_gaps"] = check.boolean(body, "fillGaps")
        if "position" in body:
            changes["position"] = _position(check, body["position"], ["position"])
        revision = check.string(body, "revision", required=False)
    check.raise_body_error()
    with request.world.lock:
        dashboard = _dashboard(request)
        widget = dashboard.widget(request.params["widgetId"])
        if widget is None:
            raise errors.api_error(404, "Widget not found")
        _check_revision(dashboard, revision)
        changes = {k: v for k, v in changes.items() if v is not MISSING}
        display = changes.get("display", widget.display)
        if display["type"] != "title" and not changes.get("query", widget.query).strip():
            check.add(["query"], 'A query is required unless display.type is "title"')
            check.raise_body_error()
        for name, value in changes.items():
            setattr(widget, name, value)
        _store(request).touch(dashboard)
        return json_reply(dashboard.render())


def delete_widget(request: ApiRequest) -> Reply:
    revision = request.arg("revision")
    with request.world.lock:
        dashboard = _dashboard(request)
        widget = dashboard.widget(request.params["widgetId"])
        if widget is None:
            raise errors.api_error(404, "Widget not found")
        _check_revision(dashboard, revision or MISSING)
        dashboard.widgets.remove(widget)
        _store(request).touch(dashboard)
        return json_reply(dashboard.render())
