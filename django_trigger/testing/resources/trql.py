"""A small, honest subset of TRQL (the query language of ``POST /api/v1/query``) over the
emulator's runs: enough for run analytics (counts by status, task and time bucket, durations,
costs), and a 400 for everything else.

Grammar (keywords case-insensitive)::

    SELECT item [, item]* FROM runs
      [WHERE conditions]
      [GROUP BY name [, name]*]
      [ORDER BY name [ASC|DESC] [, ...]*]
      [LIMIT n] [;]
    item       := column | count() | countIf(conditions) | sum(column) | avg(column)
                  | min(column) | max(column) | quantile[(level)](column)
                  | quantileIf[(level)](column, conditions) | quantiles(level, ...)(column)
                  | median(column) | medianIf(column, conditions) | timeBucket()
                  | time                                                   [AS alias]
    time       := toUnixTimestamp(time) | toStartOfHour(time) | toStartOfDay(time)
                  | toTimeZone(time, 'Area/City') | a date column
    conditions := condition [AND condition]*
    condition  := column (= | != | <> | < | <= | > | >=) literal
                  | column [NOT] IN (literal [, literal]*) | column IS [NOT] NULL
    literal    := 'text' | number

countIf, the quantiles, medians and time functions need their alias (ClickHouse names them
after their text). ``quantile`` is ClickHouse's: linear interpolation between the two nearest
ranks of the sorted values (``ReservoirSampler::quantileInterpolated``); ClickHouse samples
8192 values per group, so above that its answer is approximate and the emulator's is exact.
A time zone is a name ClickHouse loads (an IANA name); ``toStartOfHour``/``toStartOfDay`` work
in the value's zone (UTC unless ``toTimeZone`` set one) as ClickHouse's ``DateLUT`` does: the
start of the local day, plus whole hours. Function names outside TRQL's allow-list are
``Unknown function: <name>``; argument counts get the server's messages.

Columns are the real ``runs`` table's names (``apps/webapp/app/v3/querySchemas.ts``) that the
emulator can compute (``COLUMNS``); ``status`` uses the friendly titles (``Completed``,
``Failed``…). Values are rendered as ClickHouse's JSON output: DateTime64 as
``YYYY-MM-DD HH:MM:SS.mmm``, 64-bit integers unquoted. Every other construct raises
``TrqlError`` (the route answers 400 ``{"error": message}``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .trql_functions import AGGREGATIONS, FUNCTIONS

__all__ = ["COLUMNS", "RUN_STATUS_TITLES", "Query", "TrqlError", "bucket_seconds", "parse"]

RUN_STATUS_TITLES = {
    "DELAYED": "Delayed",
    "PENDING": "Queued",
    "PENDING_VERSION": "Pending version",
    "WAITING_FOR_DEPLOY": "Pending version",
    "DEQUEUED": "Dequeued",
    "EXECUTING": "Executing",
    "WAITING_TO_RESUME": "Waiting",
    "RETRYING_AFTER_FAILURE": "Reattempting",
    "PAUSED": "Paused",
    "CANCELED": "Canceled",
    "INTERRUPTED": "Interrupted",
    "COMPLETED_SUCCESSFULLY": "Completed",
    "COMPLETED_WITH_ERRORS": "Failed",
    "SYSTEM_FAILURE": "System failure",
    "CRASHED": "Crashed",
    "EXPIRED": "Expired",
    "TIMED_OUT": "Timed out",
}
_FINISHED = {
    "COMPLETED_SUCCESSFULLY",
    "COMPLETED_WITH_ERRORS",
    "CANCELED",
    "TIMED_OUT",
    "CRASHED",
    "SYSTEM_FAILURE",
    "EXPIRED",
    "PAUSED",
}
# Every column of the real runs table, in the server's order (for its error message).
REAL_COLUMNS = (
    "run_id environment project environment_type attempt_count status is_finished "
    "task_identifier queue batch_id root_run_id parent_run_id depth is_root_run is_child_run "
    "idempotency_key idempotency_key_scope region triggered_at queued_at dequeued_at "
    "executed_at completed_at delay_until has_delay expired_at ttl execution_duration "
    "total_duration queued_duration usage_duration compute_cost invocation_cost total_cost "
    "output error tags task_version sdk_version cli_version machine is_test is_warm_start "
    "concurrency_key max_duration bulk_action_group_ids"
).split()
REAL_TABLES = (
    "runs",
    "metrics",
    "queue_metrics",
    "env_metrics",
    "llm_metrics",
    "llm_models",
    "queue_metrics_by_key",
)


class TrqlError(Exception):
    """A query the server refuses, or the emulator does not model (its message says which)."""


def _ms(a: dt.datetime | None, b: dt.datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return int((b - a).total_seconds() * 1000)


@dataclass(frozen=True)
class Column:
    get: Callable[[Any, Any], Any]  # (run, context) -> value
    kind: str  # "string" | "number" | "date" | "bool" | "array"


def _c(kind: str, get: Callable[[Any, Any], Any]) -> Column:
    return Column(get, kind)


COLUMNS: dict[str, Column] = {
    "run_id": _c("string", lambda r, c: r.friendly_id),
    "environment": _c("string", lambda r, c: c.env_slug(r)),
    "project": _c("string", lambda r, c: r.project_ref),
    "environment_type": _c("string", lambda r, c: c.env_type(r)),
    "attempt_count": _c("number", lambda r, c: r.attempt_count),
    "status": _c("string", lambda r, c: RUN_STATUS_TITLES.get(r.status, r.status)),
    "is_finished": _c("bool", lambda r, c: r.status in _FINISHED),
    "task_identifier": _c("string", lambda r, c: r.task_identifier),
    "queue": _c("string", lambda r, c: r.queue),
    "batch_id": _c("string", lambda r, c: r.batch_id or ""),
    "root_run_id": _c("string", lambda r, c: r.root_id or ""),
    "parent_run_id": _c("string", lambda r, c: r.parent_id or ""),
    "depth": _c("number", lambda r, c: r.depth),
    "is_root_run": _c("bool", lambda r, c: r.depth == 0),
    "is_child_run": _c("bool", lambda r, c: r.depth > 0),
    "region": _c("string", lambda r, c: r.region or ""),
    "triggered_at": _c("date", lambda r, c: r.created_at),
    "dequeued_at": _c("date", lambda r, c: r.started_at),
    "completed_at": _c("date", lambda r, c: r.completed_at),
    "delay_until": _c("date", lambda r, c: r.delay_until),
    "has_delay": _c("bool", lambda r, c: r.delay_until is not None),
    "expired_at": _c("date", lambda r, c: r.expired_at),
    "total_duration": _c("number", lambda r, c: _ms(r.created_at, r.completed_at)),
    "execution_duration": _c("number", lambda r, c: _ms(r.started_at, r.completed_at)),
    "queued_duration": _c("number", lambda r, c: _ms(r.delay_until or r.created_at, r.started_at)),
    "usage_duration": _c("number", lambda r, c: r.usage_duration_ms),
    "compute_cost": _c("number", lambda r, c: r.cost_in_cents / 100.0),
    "invocation_cost": _c("number", lambda r, c: r.base_cost_in_cents / 100.0),
    "total_cost": _c("number", lambda r, c: (r.cost_in_cents + r.base_cost_in_cents) / 100.0),
    "tags": _c("array", lambda r, c: list(r.tags)),
    "task_version": _c("string", lambda r, c: r.version or ""),
    "machine": _c("string", lambda r, c: r.machine),
    "is_test": _c("bool", lambda r, c: r.is_test),
    "concurrency_key": _c("string", lambda r, c: r.concurrency_key or ""),
    "max_duration": _c("number", lambda r, c: r.max_duration),
}
_AGGREGATES = ("count", "countif", "sum", "avg", "min", "max", "quantile")
# Modelled functions: (lowercased name) -> (min args, max args), as functions.ts declares them.
_AGGREGATE_ARGS = {
    "count": (0, 1),
    "countif": (1, 2),
    "sum": (1, 1),
    "avg": (1, 1),
    "min": (1, 1),
    "max": (1, 1),
    "quantile": (1, 1),
    "quantileif": (2, 2),
    "quantiles": (1, None),
    "median": (1, 1),
    "medianif": (2, 2),
}
_TIME_ARGS = {
    "totimezone": (2, 2),
    "tostartofhour": (1, 1),
    "tostartofday": (1, 1),
    "tounixtimestamp": (1, 2),
}
_OPS = ("=", "!=", "<>", "<=", ">=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.|'')*')|(?P<number>\d+(?:\.\d+)?)|"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|!=|<>|[=<>(),;*]))"
)
# The default bucket per window (tsql's BUCKET_THRESHOLDS): (window under s, bucket s).
_BUCKETS = (
    (5 * 60, 5),
    (30 * 60, 30),
    (2 * 3600, 60),
    (6 * 3600, 300),
    (86400, 900),
    (3 * 86400, 3600),
    (14 * 86400, 6 * 3600),
    (60 * 86400, 86400),
    (365 * 86400, 7 * 86400),
)


def bucket_seconds(window: dt.timedelta) -> int:
    seconds = abs(window.total_seconds())
    for below, size in _BUCKETS:
        if seconds < below:
            return size
    return 30 * 86400  # the server uses calendar months there; the emulator 30 days


@dataclass
class Condition:
    column: str
    op: str  # one of _OPS, "in", "not in", "is null", "is not null"
    values: list[Any] = field(default_factory=list)


class DateTime(dt.datetime):
    """A ClickHouse ``DateTime`` (whole seconds, printed without a fraction), as the
    ``toStartOf...`` functions return; a plain datetime is a ``DateTime64(3)``."""


@dataclass
class Expr:
    """A time expression: a date column, or a time function of one (``toTimeZone``'s zone
    in ``zone``)."""

    function: str  # "" for the column itself, else the lowercased function name
    column: str
    arg: Expr | None = None
    zone: str = ""


@dataclass
class Item:
    kind: str  # "column" | "bucket" | "time" | one of _AGGREGATES
    column: str | None
    name: str  # output column name
    conditions: list[Condition] = field(default_factory=list)  # countIf/quantileIf/medianIf
    levels: list[float] = field(default_factory=list)  # the quantile levels
    array: bool = False  # quantiles(): one array of values
    expr: Expr | None = None  # a "time" item

    @property
    def aggregate(self) -> bool:
        return self.kind in _AGGREGATES


@dataclass
class Query:
    items: list[Item]
    where: list[Condition]
    group_by: list[str]
    order_by: list[tuple[str, bool]]  # (output name or column, descending)
    limit: int | None

    @property
    def columns(self) -> list[str]:
        return [item.name for item in self.items]


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                rest = text[position:].strip()
                if not rest:
                    break
                raise TrqlError(f"Syntax error: unexpected input near {rest[:20]!r}")
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.items[index] if index < len(self.items) else ("end", "")

    def keyword(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next."""
        for offset, word in enumerate(words):
            kind, value = self.peek(offset)
            if kind != "name" or value.lower() != word:
                return False
        self.at += len(words)
        return True

    def expect(self, value: str) -> None:
        got = self.peek()[1]
        if got.lower() != value:
            raise TrqlError(f"Syntax error: expected {value!r}, found {got or 'end of query'!r}")
        self.at += 1

    def name(self) -> str:
        kind, value = self.peek()
        if kind != "name":
            raise TrqlError(f"Syntax error: expected a name, found {value or 'end of query'!r}")
        self.at += 1
        return value


def _unsupported(what: str) -> TrqlError:
    return TrqlError(
        f"{what} is not supported by the django-trigger emulator, which answers a subset of "
        "TRQL (see its docs/emulator.md)"
    )


def _column(name: str) -> str:
    if name in COLUMNS:
        return name
    if name == "created_at":
        raise TrqlError('Unknown column "created_at". Did you mean "triggered_at"?')
    if name in REAL_COLUMNS:
        raise _unsupported(f'The column "{name}"')
    raise TrqlError(f'Unknown column "{name}". Available columns: {", ".join(REAL_COLUMNS)}')


def _table(name: str) -> None:
    if name.lower() == "runs":
        return
    if name in REAL_TABLES:
        raise _unsupported(f'The table "{name}"')
    raise TrqlError(f"Unknown table `{name}`.")


def _literal(tokens: _Tokens) -> Any:
    kind, value = tokens.peek()
    tokens.at += 1
    if kind == "string":
        return value[1:-1].replace("''", "'").replace("\\'", "'")
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "name" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _unsupported(f"The expression {value!r} (only literals are compared)")


def _condition(tokens: _Tokens) -> Condition:
    column = _column(tokens.name())
    if tokens.keyword("is", "not", "null"):
        return Condition(column, "is not null")
    if tokens.keyword("is", "null"):
        return Condition(column, "is null")
    negated = tokens.keyword("not", "in")
    if negated or tokens.keyword("in"):
        tokens.expect("(")
        values = [_literal(tokens)]
        while tokens.peek()[1] == ",":
            tokens.at += 1
            values.append(_literal(tokens))
        tokens.expect(")")
        return Condition(column, "not in" if negated else "in", values)
    op = tokens.peek()[1]
    if op not in _OPS:
        raise _unsupported(f"The operator {op or 'end of query'!r}")
    tokens.at += 1
    return Condition(column, op, [_literal(tokens)])


def _arity(name: str, found: int, limits: tuple[int, int | None], term: str) -> None:
    """``validateFunctionArgs``: the server's message for a wrong number of arguments."""
    low, high = limits
    plural = "s" if low != 1 else ""
    if low == high and found != low:
        raise TrqlError(f"{term} '{name}' expects {low} argument{plural}, found {found}")
    if found < low:
        raise TrqlError(f"{term} '{name}' expects at least {low} argument{plural}, found {found}")
    if high is not None and found > high:
        plural = "s" if high != 1 else ""
        raise TrqlError(f"{term} '{name}' expects at most {high} argument{plural}, found {found}")


def _call_args(tokens: _Tokens, parse_one: Callable[[], Any]) -> list[Any]:
    """``( arg [, arg]* )`` (or ``()``), each read by ``parse_one``."""
    tokens.expect("(")
    args: list[Any] = []
    if tokens.peek()[1] != ")":
        args.append(parse_one())
        while tokens.peek()[1] == ",":
            tokens.at += 1
            args.append(parse_one())
    tokens.expect(")")
    return args


def _conditions(tokens: _Tokens) -> list[Condition]:
    found = [_condition(tokens)]
    while tokens.keyword("and"):
        found.append(_condition(tokens))
    return found


def _raw_arg(tokens: _Tokens) -> tuple[str, Any]:
    """One argument as written: ``("conditions", [...])`` when a comparison follows a column,
    ``("time", Expr)`` for a time function, ``("column", name)`` or ``("literal", value)``."""
    kind, value = tokens.peek()
    if kind == "name" and tokens.peek(1)[1] == "(":
        return "time", _time(tokens)
    if kind == "name" and value.lower() not in ("true", "false"):
        following = tokens.peek(1)
        if following[1] in _OPS or following[1].lower() in ("in", "not", "is"):
            return "conditions", _conditions(tokens)
        tokens.at += 1
        return "column", _column(value)
    return "literal", _literal(tokens)


def _known(name: str) -> TrqlError:
    """Not modelled here: the emulator's own error if TRQL has the function, else the server's."""
    if name.lower() in FUNCTIONS or name.lower() in AGGREGATIONS:
        return _unsupported(f"The function {name}()")
    return TrqlError(f"Unknown function: {name}")


def _time(tokens: _Tokens) -> Expr:
    """A time function call (the name is next)."""
    name = tokens.name()
    lowered = name.lower()
    if lowered not in _TIME_ARGS:
        if lowered in AGGREGATIONS:
            raise _unsupported(f"The aggregation {name}() inside another function")
        raise _known(name)
    args = _call_args(tokens, lambda: _raw_arg(tokens))
    _arity(name, len(args), _TIME_ARGS[lowered], "Function")
    if lowered == "tounixtimestamp" and len(args) == 2:
        raise _unsupported("toUnixTimestamp() with a time zone (it applies to strings)")
    kind, inner = args[0]
    if kind == "column" and COLUMNS[inner].kind == "date":
        arg = Expr("", inner)
    elif kind == "time" and inner.function != "tounixtimestamp":
        arg = inner
    else:
        raise TrqlError(f"Illegal type of argument of function {name}: it needs a date and time")
    expr = Expr(lowered, arg.column, arg)
    if lowered == "totimezone":
        zone_kind, zone = args[1]
        if zone_kind != "literal" or not isinstance(zone, str):
            raise TrqlError(f"Argument 2 of function {name} must be a constant time zone name")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TrqlError(f"Cannot load time zone {zone}") from None
        expr.zone = zone
    return expr


def _levels(tokens: _Tokens, name: str) -> list[float]:
    """A quantile function's parameters: levels from 0 to 1."""
    levels = _call_args(tokens, lambda: _literal(tokens))
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 1:
            raise TrqlError(f"Quantile level must be in [0, 1] for {name}, not {level!r}")
    return [float(level) for level in levels]


def _aggregate_item(tokens: _Tokens) -> Item:
    name = tokens.name()
    lowered = name.lower()
    levels: list[float] = []
    if lowered in ("quantile", "quantileif", "quantiles"):
        # quantile(level)(x): the first parentheses hold the parameters when more follow
        start = tokens.at
        _call_args(tokens, lambda: _raw_arg(tokens))
        parametric = tokens.peek()[1] == "("
        tokens.at = start
        if parametric:
            levels = _levels(tokens, name)
    if lowered == "quantiles" and not levels:
        raise TrqlError("Aggregate function quantiles requires at least one level parameter")
    if lowered in ("quantile", "quantileif") and len(levels) > 1:
        raise TrqlError(f"Aggregate function {name} requires one level parameter or less")
    if lowered == "count" and tokens.peek(1)[1] == "*":
        tokens.at += 2
        tokens.expect(")")
        args: list[tuple[str, Any]] = []
    else:
        args = _call_args(tokens, lambda: _raw_arg(tokens))
    _arity(name, len(args), _AGGREGATE_ARGS[lowered], "Aggregation")
    if lowered == "count":
        if args:
            raise _unsupported("count() of an expression")
        return Item("count", None, "count()")
    if lowered == "countif":
        if len(args) != 1 or args[0][0] != "conditions":
            raise _unsupported("countIf() of anything but conditions on columns")
        return Item("countif", None, "", args[0][1])
    kind, column = args[0]
    if kind != "column":
        raise _unsupported(f"{name}() of anything but a column")
    if COLUMNS[column].kind not in ("number", "date") or (
        lowered not in ("min", "max") and COLUMNS[column].kind != "number"
    ):
        raise TrqlError(f"{name}() needs a numeric column, not {column!r}")
    if lowered in ("sum", "avg", "min", "max"):
        return Item(lowered, column, f"{name}({column})")
    conditions: list[Condition] = []
    if lowered.endswith("if"):
        if args[1][0] != "conditions":
            raise _unsupported(f"{name}() with a condition that is not conditions on columns")
        conditions = args[1][1]
    return Item(
        "quantile",
        column,
        "",
        conditions,
        levels=levels or [0.5],
        array=lowered == "quantiles",
    )


def _item(tokens: _Tokens) -> Item:
    kind, value = tokens.peek()
    if kind != "name":
        raise _unsupported(f"The expression {value!r}")
    call = tokens.peek(1)[1] == "("
    lowered = value.lower()
    if not call:
        tokens.at += 1
        item = Item("column", _column(value), value)
    elif lowered == "timebucket":
        tokens.at += 1
        tokens.expect("(")
        tokens.expect(")")
        item = Item("bucket", None, "timebucket")
    elif lowered in _AGGREGATE_ARGS:
        item = _aggregate_item(tokens)
    elif lowered in _TIME_ARGS:
        expr = _time(tokens)
        item = Item("time", expr.column, "", expr=expr)
    else:
        raise _known(value)
    if tokens.keyword("as"):
        item.name = tokens.name()
    elif not item.name:
        raise _unsupported(
            f"{value}() without AS <name> (ClickHouse names the column after the expression)"
        )
    return item


def parse(text: str) -> Query:
    if not isinstance(text, str) or not text.strip():
        raise TrqlError("Syntax error: the query is empty")
    named = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.IGNORECASE)
    if named and named.group(1).lower() != "runs":  # the table is checked before the columns
        _table(named.group(1))
    tokens = _Tokens(text)
    if not tokens.keyword("select"):
        raise _unsupported("A query that is not a SELECT")
    if tokens.keyword("distinct"):
        raise _unsupported("SELECT DISTINCT")
    items = [_item(tokens)]
    while tokens.peek()[1] == ",":
        tokens.at += 1
        items.append(_item(tokens))
    if not tokens.keyword("from"):
        raise TrqlError("Syntax error: expected FROM")
    _table(tokens.name())
    if tokens.peek()[0] == "name" and tokens.peek()[1].lower() not in (
        "where",
        "group",
        "order",
        "limit",
    ):
        raise _unsupported(f"{tokens.peek()[1].upper()} after FROM")
    where: list[Condition] = []
    if tokens.keyword("where"):
        where = _conditions(tokens)
    names = {item.name for item in items}
    group_by: list[str] = []
    if tokens.keyword("group", "by"):
        group_by.append(_group_name(tokens, names))
        while tokens.peek()[1] == ",":
            tokens.at += 1
            group_by.append(_group_name(tokens, names))
    order_by: list[tuple[str, bool]] = []
    if tokens.keyword("order", "by"):
        order_by.append(_order(tokens, items))
        while tokens.peek()[1] == ",":
            tokens.at += 1
            order_by.append(_order(tokens, items))
    limit = None
    if tokens.keyword("limit"):
        kind, value = tokens.peek()
        if kind != "number" or "." in value:
            raise TrqlError("Syntax error: LIMIT needs a whole number")
        tokens.at += 1
        limit = int(value)
    if tokens.peek()[1] == ";":
        tokens.at += 1
    kind, value = tokens.peek()
    if kind != "end":
        if kind == "name" and value.lower() in ("or", "having", "join", "union", "offset"):
            raise _unsupported(value.upper())
        raise TrqlError(f"Syntax error: unexpected {value!r}")
    query = Query(items, where, group_by, order_by, limit)
    _check_grouping(query)
    return query


def _group_name(tokens: _Tokens, outputs: set[str]) -> str:
    if tokens.peek(1)[1] == "(" and tokens.peek()[1].lower() != "timebucket":
        raise _unsupported("GROUP BY an expression (group by its alias)")
    name = tokens.name()
    if tokens.peek()[1] == "(":
        tokens.expect("(")
        tokens.expect(")")
    if name in outputs or name.lower() == "timebucket":
        return name if name in outputs else "timebucket"
    return _column(name)


def _order(tokens: _Tokens, items: list[Item]) -> tuple[str, bool]:
    kind, value = tokens.peek()
    if kind != "name":
        raise _unsupported(f"ORDER BY {value!r}")
    if tokens.peek(1)[1] == "(":  # an aggregate written as in the SELECT list
        item = _item(tokens)
        name = next((i.name for i in items if i.kind == item.kind and i.column == item.column), "")
        if not name:
            raise _unsupported("ORDER BY an expression that is not selected")
    else:
        name = tokens.name()
        outputs = {i.name for i in items}
        if name not in outputs:
            name = "timebucket" if name.lower() == "timebucket" else _column(name)
    descending = tokens.keyword("desc")
    if not descending:
        tokens.keyword("asc")
    return name, descending


def _check_grouping(query: Query) -> None:
    has_aggregate = any(item.aggregate for item in query.items)
    grouped = set(query.group_by)
    for item in query.items:
        if item.aggregate:
            continue
        key = item.name if item.name in grouped or item.kind == "time" else item.column
        key = key or "timebucket"
        if (has_aggregate or grouped) and key not in grouped and item.name not in grouped:
            raise TrqlError(
                f'Column "{item.name}" must appear in the GROUP BY clause or be used in an '
                "aggregate function"
            )


# -- evaluation ----------------------------------------------------------------------------------


def format_value(value: Any) -> Any:
    """ClickHouse's JSON form: DateTime64(3) as ``YYYY-MM-DD HH:MM:SS.mmm`` and DateTime as
    ``YYYY-MM-DD HH:MM:SS``, both in the value's time zone (UTC unless ``toTimeZone`` set
    one); a whole Float64 without a fraction (``2000``, as JavaScript then sends it on); NaN
    (a quantile of nothing) as ``null`` (``output_format_json_quote_denormals`` is off)."""
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text if isinstance(value, DateTime) else f"{text}.{value.microsecond // 1000:03d}"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
    if isinstance(value, list):
        return [format_value(v) for v in value]
    return value


def _start_of_day(value: dt.datetime) -> dt.datetime:
    """The first instant of the value's local date (``DateLUT``'s day start)."""
    # (a midnight in a gap, fold 0, is read with the offset before it: the transition itself)
    return dt.datetime.combine(value.date(), dt.time(), tzinfo=value.tzinfo)


def time_value(expr: Expr, run: Any, context: Any) -> Any:
    """A time expression's value for ``run`` (``None`` when its column is NULL)."""
    if not expr.function:
        return COLUMNS[expr.column].get(run, context)
    assert expr.arg is not None
    value = time_value(expr.arg, run, context)
    if value is None:
        return None
    if expr.function == "totimezone":
        return value.astimezone(ZoneInfo(expr.zone))
    if expr.function == "tounixtimestamp":
        return math.floor(value.timestamp())
    zone = value.tzinfo or dt.timezone.utc
    day = _start_of_day(value.astimezone(zone))
    if expr.function == "tostartofhour":  # the day's start plus whole elapsed hours
        since = math.floor(value.timestamp()) - int(day.timestamp())
        day = dt.datetime.fromtimestamp(day.timestamp() + since // 3600 * 3600, zone)
    return DateTime.fromtimestamp(day.timestamp(), zone)


def quantile(values: list[Any], level: float) -> float:
    """ClickHouse's ``quantile``: the sorted values linearly interpolated at
    ``level * (n - 1)`` (``ReservoirSampler::quantileInterpolated``); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    index = max(0.0, min(len(ordered) - 1.0, level * (len(ordered) - 1)))
    left = int(index)
    if left + 1 == len(ordered):
        return float(ordered[left])
    return float(ordered[left]) * (left + 1 - index) + float(ordered[left + 1]) * (index - left)


def _comparable(value: Any, kind: str) -> Any:
    if kind == "date" and isinstance(value, str):
        text = value.strip().replace("T", " ").rstrip("Z")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise TrqlError(f"Cannot parse {value!r} as a DateTime64") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    if kind == "bool" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return bool(value)
    return value


def matches(condition: Condition, run: Any, context: Any) -> bool:
    column = COLUMNS[condition.column]
    value = column.get(run, context)
    if condition.op == "is null":
        return value is None
    if condition.op == "is not null":
        return value is not None
    wanted = [_comparable(v, column.kind) for v in condition.values]
    if condition.op in ("in", "not in"):
        found = value in wanted
        return found if condition.op == "in" else not found
    if value is None:
        return False
    other = wanted[0]
    try:
        return {
            "=": value == other,
            "!=": value != other,
            "<>": value != other,
            "<": value < other,
            "<=": value <= other,
            ">": value > other,
            ">=": value >= other,
        }[condition.op]
    except TypeError:
        raise TrqlError(
            f"Cannot compare column {condition.column!r} with {condition.values[0]!r}"
        ) from None


def evaluate(query: Query, runs: Iterable[Any], context: Any, bucket: int) -> list[dict[str, Any]]:
    """Rows (``{output name: value}``) of ``query`` over ``runs``; ``bucket`` is timeBucket()'s
    width in seconds, aligned to the epoch as ``toStartOfInterval``."""
    selected = [r for r in runs if all(matches(c, r, context) for c in query.where)]

    def bucket_of(run: Any) -> dt.datetime:
        epoch = int(run.created_at.timestamp())
        return dt.datetime.fromtimestamp(epoch - epoch % bucket, dt.timezone.utc)

    def key_value(name: str, run: Any) -> Any:
        item = next((i for i in query.items if i.name == name), None)
        if name == "timebucket" or (item is not None and item.kind == "bucket"):
            return bucket_of(run)
        if item is not None and item.expr is not None:
            return time_value(item.expr, run, context)
        column = item.column if item is not None and item.column else name
        return COLUMNS[column].get(run, context)

    has_aggregate = any(item.aggregate for item in query.items)
    # (row, the run whose values an ORDER BY of an unselected column or group key reads)
    rows: list[tuple[dict[str, Any], Any]] = []
    if query.group_by or has_aggregate:
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for run in selected:
            key = tuple(_hashable(key_value(name, run)) for name in query.group_by)
            groups.setdefault(key, []).append(run)
        if not query.group_by and not groups:
            groups[()] = []  # an aggregate over no rows is one row
        for members in groups.values():
            row = {item.name: _aggregate(item, members, context, key_value) for item in query.items}
            rows.append((row, members[0] if members else None))
    else:
        for run in sorted(selected, key=lambda r: r.created_at, reverse=True):
            rows.append(({item.name: key_value(item.name, run) for item in query.items}, run))
    outputs = set(query.columns)
    for name, descending in reversed(query.order_by):
        if name not in outputs and (query.group_by or has_aggregate) and name not in query.group_by:
            raise TrqlError(
                f'Column "{name}" must appear in the GROUP BY clause or be used in an '
                "aggregate function"
            )

        def value(pair: tuple[dict[str, Any], Any], name: str = name) -> Any:
            row, run = pair
            if name in row:
                return row[name]
            return key_value(name, run) if run is not None else None

        # ClickHouse sorts NULLs last in both directions.
        present = [pair for pair in rows if value(pair) is not None]
        missing = [pair for pair in rows if value(pair) is None]
        present.sort(key=value, reverse=descending)
        rows = present + missing
    if query.limit is not None:
        rows = rows[: query.limit]
    return [{name: format_value(value) for name, value in row.items()} for row, _run in rows]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _aggregate(item: Item, members: list[Any], context: Any, key_value: Any) -> Any:
    if item.kind == "count":
        return len(members)
    if item.kind == "countif":
        return sum(1 for run in members if all(matches(c, run, context) for c in item.conditions))
    if not item.aggregate:
        return key_value(item.name, members[0]) if members else None
    assert item.column is not None
    members = [r for r in members if all(matches(c, r, context) for c in item.conditions)]
    values = [v for v in (COLUMNS[item.column].get(r, context) for r in members) if v is not None]
    if item.kind == "quantile":
        found = [quantile(values, level) for level in item.levels]
        return found if item.array else found[0]
    if item.kind == "sum":
        return sum(values) if values else 0
    if not values:
        return None
    if item.kind == "avg":
        return sum(values) / len(values)
    return min(values) if item.kind == "min" else max(values)
