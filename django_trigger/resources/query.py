"""``client.query``: TRQL queries over the project's runs and metrics, and the query
dashboards, as the SDK's ``query`` (docs/API-ADDENDUM.md §17).

    result = client.query.execute(
        "SELECT status, count() AS runs FROM runs GROUP BY status", period="7d"
    )
    result.rows  # [{"status": "Completed", "runs": 120}, ...]
"""

from __future__ import annotations

import builtins
import re
import secrets
import string
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django_trigger._http.paths import build_path
from django_trigger.credentials import TokenKind
from django_trigger.exceptions import ApiError, InvalidRequestError
from django_trigger.options import RequestOptionsLike
from django_trigger.types import IdResponse
from django_trigger.types._base import SchemaError
from django_trigger.types.query import (
    Dashboard,
    DashboardSummary,
    DashboardWidgetAdded,
    QueryResult,
)

from ._base import Auth, Resource, RetrySafety, flow, retry_safety

if TYPE_CHECKING:
    from ._base import RawTwin
    from ._typed import (
        DashboardsWithRawResponse,
        DashboardWidgetsWithRawResponse,
        QueryWithRawResponse,
    )

__all__ = ["DashboardWidgets", "Dashboards", "Query", "QueryFormat", "QueryScope"]

QueryScope = Literal["environment", "project", "organization"]
QueryFormat = Literal["json", "csv"]
_PERIOD = re.compile(r"[1-9][0-9]*[smhdw]", re.ASCII)
_WIDGET_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_WIDGET_KEYS = frozenset({"id", "title", "query", "display", "fillGaps", "position"})
_DISPLAY_TYPES = ("table", "chart", "bignumber", "title")
_ID_ALPHABET = string.ascii_letters + string.digits
T = TypeVar("T")


class Query(Resource):
    with_raw_response: RawTwin[QueryWithRawResponse]

    @retry_safety(RetrySafety.IDEMPOTENT, why="a query only reads")
    def execute(
        self,
        query: str,
        *,
        scope: QueryScope = "environment",
        period: str | None = None,
        from_: datetime | date | int | None = None,
        to: datetime | date | int | None = None,
        format: QueryFormat = "json",
        request_options: RequestOptionsLike = None,
    ) -> QueryResult:
        """Run a TRQL query (``SELECT ... FROM runs ...``) over the last ``period``
        (``"1h"``, ``"7d"``; 7 days by default) or between ``from_`` and ``to`` (aware
        datetimes, dates or epoch milliseconds). The server clips the window to the plan's
        query period. ``scope`` widens it to the project or the organization (a secret key
        only). One ``POST /api/v1/query``."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequestError("query must be a non-empty TRQL string")
        if scope not in ("environment", "project", "organization"):
            raise InvalidRequestError("scope must be 'environment', 'project' or 'organization'")
        if format not in ("json", "csv"):
            raise InvalidRequestError("format must be 'json' or 'csv'")
        if scope != "environment" and self._client.token_kind is TokenKind.PUBLIC_ACCESS_TOKEN:
            raise InvalidRequestError(
                f"a public access token is scoped to one environment, so it cannot run a "
                f"{scope}-scoped query: use scope='environment' or a secret key"
            )
        if period is not None:
            if not isinstance(period, str) or not _PERIOD.fullmatch(period):
                raise InvalidRequestError(
                    f"period must look like '30m', '6h', '7d' or '2w', not {period!r}"
                )
            if from_ is not None or to is not None:
                raise InvalidRequestError(
                    "pass either period or from_/to: the server ignores from_ and to when a "
                    "period is given"
                )
        start, end = _instant(from_, "from_"), _instant(to, "to")
        if start is not None and end is not None and start > end:
            raise InvalidRequestError("from_ must not be after to")
        body: dict[str, Any] = {"query": query, "scope": scope, "format": format}
        for key, value in (("period", period), ("from", _iso(start)), ("to", _iso(end))):
            if value is not None:
                body[key] = value
        return self._request(
            "POST",
            "/api/v1/query",
            operation="query.execute",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=QueryResult.from_api,
            request_options=request_options,
        )

    @property
    def dashboards(self) -> Dashboards:
        return _child(self, Dashboards)


class Dashboards(Resource):
    """``client.query.dashboards``: the built-in and custom dashboards."""

    with_raw_response: RawTwin[DashboardsWithRawResponse]

    @retry_safety(RetrySafety.READ, why="a read")
    def list(
        self, *, request_options: RequestOptionsLike = None
    ) -> builtins.list[DashboardSummary]:
        """The built-in dashboards (read-only) and the organization's custom ones."""
        return self._request(
            "GET",
            "/api/v1/query/dashboards",
            operation="query.dashboards.list",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=_summaries,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.READ, why="a read")
    def retrieve(
        self, dashboard_id: str, *, request_options: RequestOptionsLike = None
    ) -> Dashboard:
        return self._request(
            "GET",
            _path(dashboard_id),
            operation="query.dashboards.retrieve",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            parse=Dashboard.from_api,
            request_options=request_options,
        )

    @retry_safety(RetrySafety.UNSAFE, why="each call creates a dashboard")
    def create(
        self,
        title: str,
        *,
        description: str | None = None,
        widgets: Sequence[Mapping[str, Any]] | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Dashboard:
        """A custom dashboard, optionally with widgets (as the SDK's ``DashboardWidgetInput``:
        ``{"title", "query", "display": {"type": ...}, "id"?, "position"?, "fillGaps"?}``;
        without a position a widget goes full width below the others)."""
        body: dict[str, Any] = {"title": _title(title)}
        if description is not None:
            body["description"] = _description(description)
        if widgets is not None:
            body["widgets"] = _widgets(widgets, generate_ids=False)
        return self._request(
            "POST",
            "/api/v1/query/dashboards",
            operation="query.dashboards.create",
            auth=Auth.SECRET_KEY_OR_PUBLIC,
            json_body=body,
            parse=Dashboard.from_api,
            request_options=request_options,
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="sets the title/description; with a revision, a conflict on the retry after a lost "
        "answer is checked against the dashboard read back",
    )
    @flow
    def update(
        self,
        dashboard_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        revision: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Dashboard]:
        """Rename the dashboard or change its description (``PATCH``)."""
        path = _path(dashboard_id)
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = _title(title)
        if description is not None:
            body["description"] = _description(description)
        if not body:
            raise InvalidRequestError("pass title, description or both")
        _add_revision(body, revision)
        return (
            yield from _verified_write(
                self,
                "PATCH",
                path,
                "query.dashboards.update",
                Dashboard.from_api,
                dashboard_id,
                lambda current: (
                    (title is None or current.title == body["title"])
                    and (description is None or current.description == description)
                ),
                json_body=body,
                request_options=request_options,
            )
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="replaces the widgets (new ones get ids before sending); with a revision, a "
        "conflict on the retry after a lost answer is checked against the dashboard read back",
    )
    @flow
    def replace(
        self,
        dashboard_id: str,
        widgets: Sequence[Mapping[str, Any]],
        *,
        title: str | None = None,
        description: str | None = None,
        revision: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Dashboard]:
        """Replace every widget (``PUT``). A widget whose ``id`` exists keeps its position
        unless given one; new widgets without a position go full width below the others."""
        path = _path(dashboard_id)
        body: dict[str, Any] = {"widgets": _widgets(widgets, generate_ids=True)}
        if title is not None:
            body["title"] = _title(title)
        if description is not None:
            body["description"] = _description(description)
        _add_revision(body, revision)
        sent = [(w["id"], w["title"].strip(), w.get("query", "")) for w in body["widgets"]]
        return (
            yield from _verified_write(
                self,
                "PUT",
                path,
                "query.dashboards.replace",
                Dashboard.from_api,
                dashboard_id,
                lambda current: [(w.id, w.title, w.query) for w in current.widgets] == sent,
                json_body=body,
                request_options=request_options,
            )
        )

    @retry_safety(RetrySafety.VERIFIED, why="a 404 on the retry after a lost answer means deleted")
    @flow
    def delete(
        self, dashboard_id: str, *, request_options: RequestOptionsLike = None
    ) -> Generator[Any, Any, IdResponse]:
        path = _path(dashboard_id)
        try:
            return (
                yield self._request(
                    "DELETE",
                    path,
                    operation="query.dashboards.delete",
                    auth=Auth.SECRET_KEY_OR_PUBLIC,
                    parse=IdResponse.from_api,
                    request_options=request_options,
                )
            )
        except ApiError as exc:
            if not self._done_before(exc, 404):
                raise
            return IdResponse.from_api({"id": dashboard_id})

    @property
    def widgets(self) -> DashboardWidgets:
        return _child(self, DashboardWidgets)


class DashboardWidgets(Resource):
    """``client.query.dashboards.widgets``: one widget at a time."""

    with_raw_response: RawTwin[DashboardWidgetsWithRawResponse]

    @retry_safety(
        RetrySafety.VERIFIED,
        why="the widget gets its id before sending, so a retry after a lost answer that is "
        "refused (the id exists, or the revision moved) is checked against the dashboard",
    )
    @flow
    def add(
        self,
        dashboard_id: str,
        widget: Mapping[str, Any],
        *,
        revision: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, DashboardWidgetAdded]:
        """Add ``widget`` (as in ``dashboards.create``); without a ``position`` it goes full
        width at the bottom. Without an ``id`` the client generates one (8 letters and
        digits, as the server's), so a lost answer can be checked."""
        path = _path(dashboard_id) + "/widgets"
        (body,) = _widgets([widget], generate_ids=True)
        _add_revision(body, revision)
        return (
            yield from _verified_write(
                self,
                "POST",
                path,
                "query.dashboards.widgets.add",
                DashboardWidgetAdded.from_api,
                dashboard_id,
                lambda current: any(
                    w.id == body["id"] and w.title == body["title"].strip() for w in current.widgets
                ),
                answer=lambda current: {"widgetId": body["id"], "dashboard": current.raw},
                refusals=((400, "already exists"), (409, None)),
                json_body=body,
                request_options=request_options,
            )
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="sets the given fields; with a revision, a conflict on the retry after a lost answer "
        "is checked against the dashboard read back",
    )
    @flow
    def update(
        self,
        dashboard_id: str,
        widget_id: str,
        *,
        title: str | None = None,
        query: str | None = None,
        display: Mapping[str, Any] | None = None,
        fill_gaps: bool | None = None,
        position: Mapping[str, int] | None = None,
        revision: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Dashboard]:
        """Change a widget's title, query, display or position; returns the dashboard."""
        path = _widget_path(dashboard_id, widget_id)
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = _title(title)
        if query is not None:
            if not isinstance(query, str):
                raise InvalidRequestError("query must be a string")
            body["query"] = query
        if display is not None:
            body["display"] = _display(display)
        if fill_gaps is not None:
            if not isinstance(fill_gaps, bool):
                raise InvalidRequestError("fill_gaps must be True or False")
            body["fillGaps"] = fill_gaps
        if position is not None:
            body["position"] = _position(position)
        if not body:
            raise InvalidRequestError("pass at least one of title, query, display, position")
        _add_revision(body, revision)
        sent = {key: value for key, value in body.items() if key != "revision"}
        return (
            yield from _verified_write(
                self,
                "PATCH",
                path,
                "query.dashboards.widgets.update",
                Dashboard.from_api,
                dashboard_id,
                lambda current: any(
                    w.id == widget_id and all(w.raw.get(k) == v for k, v in sent.items())
                    for w in current.widgets
                ),
                json_body=body,
                request_options=request_options,
            )
        )

    @retry_safety(
        RetrySafety.VERIFIED,
        why="'Widget not found' (or a revision conflict) on the retry after a lost answer is "
        "checked: the widget is gone from the dashboard read back",
    )
    @flow
    def delete(
        self,
        dashboard_id: str,
        widget_id: str,
        *,
        revision: str | None = None,
        request_options: RequestOptionsLike = None,
    ) -> Generator[Any, Any, Dashboard]:
        """Remove a widget; returns the dashboard. ``revision`` goes in the query string."""
        path = _widget_path(dashboard_id, widget_id)
        params = {}
        if revision is not None:
            params["revision"] = _revision(revision)
        return (
            yield from _verified_write(
                self,
                "DELETE",
                path,
                "query.dashboards.widgets.delete",
                Dashboard.from_api,
                dashboard_id,
                lambda current: all(w.id != widget_id for w in current.widgets),
                refusals=((404, "widget"), (409, None)),
                params=params,
                request_options=request_options,
            )
        )


# -- helpers -------------------------------------------------------------------------------------


def _child(parent: Resource, cls: type[Any]) -> Any:
    """A nested resource (``query.dashboards``, ``dashboards.widgets``) on the same client,
    raw when the parent is (``client.query.with_raw_response.dashboards.list()``)."""
    child = cls(parent._client)
    child._raw = parent._raw
    return child


def _verified_write(
    resource: Resource,
    method: str,
    path: str,
    operation: str,
    parse: Callable[[Any], T],
    dashboard_id: str,
    done: Callable[[Dashboard], bool],
    *,
    answer: Callable[[Dashboard], Any] = lambda current: current.raw,
    refusals: Sequence[tuple[int, str | None]] = ((409, None),),
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    request_options: RequestOptionsLike,
) -> Generator[Any, Any, T]:
    """A dashboard write that checks a refused retry (the flows' ``yield from``): when the
    retry after a lost answer is refused as in ``refusals`` (``(status, message or None)``;
    a 409: the revision moved, as the lost attempt may have moved it), the dashboard read
    back decides: if ``done(dashboard)``, the write's result is ``parse(answer(dashboard))``
    (the dashboard itself by default), else the refusal stands."""
    try:
        return (
            yield resource._request(
                method,
                path,
                operation=operation,
                auth=Auth.SECRET_KEY_OR_PUBLIC,
                json_body=json_body,
                params=params,
                parse=parse,
                request_options=request_options,
            )
        )
    except ApiError as exc:
        if not any(resource._done_before(exc, *refusal) for refusal in refusals):
            raise
        current = yield Dashboards(resource._client).retrieve(
            dashboard_id, request_options=request_options
        )
        if not done(current):
            raise
        return parse(answer(current))


def _summaries(body: Any) -> builtins.list[DashboardSummary]:
    if not isinstance(body, dict) or not isinstance(body.get("dashboards"), builtins.list):
        raise SchemaError("expected an object with a 'dashboards' array")
    return [DashboardSummary.from_api(item) for item in body["dashboards"]]


def _path(dashboard_id: object) -> str:
    return build_path("/api/v1/query/dashboards/{}", (dashboard_id, "dashboard id"))


def _widget_path(dashboard_id: object, widget_id: object) -> str:
    if isinstance(widget_id, str) and not _WIDGET_ID.fullmatch(widget_id):
        raise InvalidRequestError(f"{widget_id!r} is not a widget id (letters, digits, _ and -)")
    return build_path(
        "/api/v1/query/dashboards/{}/widgets/{}",
        (dashboard_id, "dashboard id"),
        (widget_id, "widget id"),
    )


def _instant(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be an aware datetime, a date or epoch milliseconds")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidRequestError(
                f"{name} must be an aware datetime (for example django.utils.timezone.now())"
            )
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    raise InvalidRequestError(
        f"{name} must be an aware datetime, a date or epoch milliseconds, not {value!r}"
    )


def _iso(value: datetime | None) -> str | None:
    """``Date.toISOString()``: UTC with milliseconds and ``Z``."""
    if value is None:
        return None
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _title(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200:
        raise InvalidRequestError("title must be 1 to 200 characters (not only spaces)")
    return value


def _description(value: object) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequestError("description must be a string of at most 2000 characters")
    return value


def _revision(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError("revision must be the non-empty revision of a dashboard")
    return value


def _add_revision(body: dict[str, Any], revision: object) -> None:
    if revision is not None:
        body["revision"] = _revision(revision)


def _display(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or value.get("type") not in _DISPLAY_TYPES:
        raise InvalidRequestError(
            "display must be a mapping whose type is 'table', 'chart', 'bignumber' or 'title'"
        )
    return dict(value)


def _position(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping) or set(value) != {"x", "y", "w", "h"}:
        raise InvalidRequestError("position must be a mapping of x, y, w and h")
    for key, low, high in (("x", 0, 11), ("y", 0, None), ("w", 1, 12), ("h", 1, None)):
        number = value[key]
        if (
            isinstance(number, bool)
            or not isinstance(number, int)
            or number < low
            or (high is not None and number > high)
        ):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise InvalidRequestError(f"position {key} must be an integer {bounds}")
    return dict(value)


def _widgets(
    widgets: Sequence[Mapping[str, Any]] | object, *, generate_ids: bool
) -> builtins.list[dict[str, Any]]:
    """Check widget inputs (the SDK's strict ``DashboardWidgetInput``) before sending."""
    if isinstance(widgets, (str, bytes, Mapping)) or not isinstance(widgets, Sequence):
        raise InvalidRequestError("widgets must be a list of widget mappings")
    out, seen = [], set()
    for n, widget in enumerate(widgets):
        if not isinstance(widget, Mapping):
            raise InvalidRequestError(f"widgets[{n}] must be a mapping")
        unknown = set(widget) - _WIDGET_KEYS
        if unknown:
            raise InvalidRequestError(
                f"widgets[{n}] has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                f"expected {', '.join(sorted(_WIDGET_KEYS))}"
            )
        body: dict[str, Any] = {"title": _title(widget.get("title")), **dict(widget)}
        body["display"] = _display(widget.get("display"))
        query = widget.get("query", "")
        if not isinstance(query, str):
            raise InvalidRequestError(f"widgets[{n}] query must be a string")
        if body["display"]["type"] != "title" and not query.strip():
            raise InvalidRequestError(f"widgets[{n}] needs a query (only title widgets have none)")
        if "position" in widget:
            body["position"] = _position(widget["position"])
        if "fillGaps" in widget and not isinstance(widget["fillGaps"], bool):
            raise InvalidRequestError(f"widgets[{n}] fillGaps must be True or False")
        if "id" in widget:
            if not isinstance(widget["id"], str) or not _WIDGET_ID.fullmatch(widget["id"]):
                raise InvalidRequestError(
                    f"widgets[{n}] id may only contain letters, numbers, _ and - (1 to 64)"
                )
        elif generate_ids:
            body["id"] = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
        if body.get("id") in seen:
            raise InvalidRequestError(f"widget id {body['id']!r} is used more than once")
        if "id" in body:
            seen.add(body["id"])
        out.append(body)
    return out
