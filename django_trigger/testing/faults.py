"""Deterministic fault injection: what a flaky network or an overloaded server does.

    emu.faults.fail_next(2, status=503)                  # next 2 requests answer 503
    emu.faults.fail_next(1, 500, headers={"x-should-retry": "false"}, path="/api/v1/runs")
    emu.faults.fail_next(1, 502, after_processing=True)  # side effect happens, answer is 502
    emu.faults.rate_limit_next(1, reset_after=0.05)      # real 429 problem+json + x-ratelimit-*
    emu.faults.drop_next(1)                              # connection closed, nothing answered
    emu.faults.drop_next(1, after_processing=True)       # handler runs, then the answer is lost
    emu.faults.stall_next(1, seconds=5)                  # answer only after 5 s (client timeouts)
    emu.faults.trickle_next(1, interval=0.3)             # headers at once, then 1 body byte / 0.3 s
    emu.faults.trickle_next(1, 0.3, status=503)          # the same with a 503 error body
    emu.faults.cut_next(1, after_chunks=2)               # a streamed answer stops after 2 chunks
    emu.faults.respond_next(1, content=gz, headers={"Content-Encoding": "gzip"})  # raw bytes
    emu.faults.latency(20, jitter_ms=10)                 # every answer waits 20–30 ms
    emu.faults.set_fault_rate(0.1, statuses=(500, 502, 503))   # seeded: same sequence each run
    emu.faults.clear()

``path`` is matched with :func:`fnmatch.fnmatchcase` (``"/api/v1/runs*"`` for a prefix),
``method`` case-insensitively, ``query`` (a dict) by each parameter's value (the last one
when repeated): ``drop_next(9, path="/api/v1/runs", query={"page[after]": cursor})`` loses
exactly the requests for one page, however many other requests arrive meanwhile. Each
request consumes at most one queued rule (the oldest that matches); the fault rate applies only
when no rule matched. Jitter and the fault rate draw from a ``random.Random`` seeded by the
emulator's seed, so a sequential test sees the same faults on every run. A stall, trickle or
latency wait ends early when the emulator stops (a trickle then closes the connection
mid-body).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["FaultDecision", "Faults"]

FAULT_STATUSES = (408, 409, 429, 500, 502, 503, 504)


@dataclass
class FaultDecision:
    # "fail" | "drop" | "stall" | "trickle" | "cut" | "rate_limit" | "fault_rate" | "respond"
    kind: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # "stall": the wait; "trickle": the wait between body bytes
    after_processing: bool = False
    reset_after: float = 0.05
    body: bytes | None = None  # "respond": the answer's body as sent
    chunks: int = 0  # "cut": the streamed chunks written before the connection is closed
    ticket: int = 0  # "stall": its number, for release_stalls()


@dataclass
class _Rule:
    decision: FaultDecision
    remaining: int
    path: str | None
    method: str | None
    query: dict[str, str] | None = None

    def matches(self, method: str, path: str, query: Mapping[str, list[str]]) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.query is not None and any(
            query.get(name, [None])[-1] != value for name, value in self.query.items()
        ):
            return False
        return self.path is None or fnmatchcase(path, self.path)


def _query(query: Mapping[str, str] | None) -> dict[str, str] | None:
    if query is None:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        raise TypeError("query maps parameter names to string values")
    return dict(query)


class Faults:
    def __init__(self, seed: int = 1) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rules: list[_Rule] = []
        self._rng = random.Random(f"{seed}:faults")
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.fault_rate = 0.0
        self.fault_statuses: tuple[int, ...] = (500, 502, 503)
        self._stalls_taken = self._stalls_released = 0

    # -- configuration ------------------------------------------------------------------------

    def _add(
        self,
        n: int,
        decision: FaultDecision,
        path: str | None,
        method: str | None,
        query: Mapping[str, str] | None,
    ) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._rules.append(_Rule(decision, n, path, method, _query(query)))

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
        after_processing: bool = False,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` (and ``headers``) instead of
        running them; with ``after_processing=True`` run them first, then answer ``status``.
        A 429 gets the real rate-limit body and ``x-ratelimit-*`` headers."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status, not {status}")
        kind = "rate_limit" if status == 429 else "fail"
        self._add(
            n,
            FaultDecision(kind, status, dict(headers or {}), after_processing=after_processing),
            path,
            method,
            query,
        )

    def respond_next(
        self,
        n: int = 1,
        status: int = 200,
        *,
        body: Any = None,
        text: str | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``body`` (JSON-encoded), ``text`` or
        ``content`` (bytes, sent as is, e.g. gzip with ``Content-Encoding: gzip`` in
        ``headers``) instead of running them: a reply the API would never give, as from a
        misbehaving proxy or an API change, to test how callers handle a malformed answer."""
        if sum(value is not None for value in (body, text, content)) != 1:
            raise ValueError("pass exactly one of body, text and content")
        if content is not None:
            raw = bytes(content)
        else:
            raw = text.encode() if text is not None else json.dumps(body).encode()
        self._add(
            n, FaultDecision("respond", status, dict(headers or {}), body=raw), path, method, query
        )

    def rate_limit_next(
        self,
        n: int = 1,
        reset_after: float = 0.05,
        *,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Answer 429 as the rate limiter does, with ``x-ratelimit-reset`` ``reset_after``
        seconds from now (epoch milliseconds)."""
        self._add(n, FaultDecision("rate_limit", 429, reset_after=reset_after), path, method, query)

    def drop_next(
        self,
        n: int = 1,
        *,
        after_processing: bool = False,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Close the connection without answering; with ``after_processing=True`` the handler
        runs first (the side effect happens), then the answer is lost."""
        self._add(n, FaultDecision("drop", after_processing=after_processing), path, method, query)

    def stall_next(
        self,
        n: int,
        seconds: float,
        *,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Hold the next ``n`` matching requests for ``seconds`` before handling them (or
        until :meth:`release_stalls`)."""
        self._add(n, FaultDecision("stall", seconds=seconds), path, method, query)

    def release_stalls(self) -> None:
        """Let every request stalled so far go on now (handled as if its stall had ended): a
        test holds a request with a long stall while it does something, then releases it,
        instead of guessing how long that takes."""
        with self._lock:
            self._stalls_released = self._stalls_taken

    def stall_released(self, decision: FaultDecision) -> bool:
        """Whether the stall ``decision`` (from :meth:`take`) was released (the app asks)."""
        with self._lock:
            return decision.ticket <= self._stalls_released

    def trickle_next(
        self,
        n: int = 1,
        interval: float = 0.3,
        *,
        status: int | None = None,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Run the next ``n`` matching requests, send the status and headers at once, then the
        body one byte every ``interval`` seconds: a slow network or a stuck proxy that a
        per-read timeout never catches (each byte arrives in time). With ``status`` (an error
        status) the handler does not run: that status's error body is trickled instead."""
        if not interval > 0:
            raise ValueError("interval must be a positive number of seconds")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status, not {status}")
        self._add(
            n,
            FaultDecision("trickle", status, seconds=interval, after_processing=status is None),
            path,
            method,
            query,
        )

    def cut_next(
        self,
        n: int = 1,
        after_chunks: int = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Run the next ``n`` matching requests and close the connection after the first
        ``after_chunks`` chunks of their streamed answers (server-sent events), without the
        final chunk: a connection lost mid-stream, which a reader resumes with
        ``Last-Event-ID``. An answer that is not streamed is lost whole (as ``drop_next(
        after_processing=True)``)."""
        if after_chunks < 1:
            raise ValueError("after_chunks must be at least 1")
        self._add(
            n, FaultDecision("cut", chunks=after_chunks, after_processing=True), path, method, query
        )

    def latency(self, ms: float, jitter_ms: float = 0) -> None:
        """Add ``ms`` (+ uniform ``0..jitter_ms``) to every answer."""
        with self._lock:
            self.latency_ms, self.jitter_ms = float(ms), float(jitter_ms)

    def set_fault_rate(self, rate: float, statuses: tuple[int, ...] = (500, 502, 503)) -> None:
        """Fail a seeded-random share ``rate`` (0–1) of requests with one of ``statuses``."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self.fault_rate = rate
            self.fault_statuses = tuple(statuses)
            self._rng = random.Random(f"{self._seed}:faults")

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency_ms = self.jitter_ms = 0.0
            self.fault_rate = 0.0
            self.fault_statuses = (500, 502, 503)
            self._rng = random.Random(f"{self._seed}:faults")

    @property
    def pending(self) -> int:
        """How many queued faults have not been used yet."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)

    # -- used by the app ----------------------------------------------------------------------

    def take(
        self, method: str, path: str, query: Mapping[str, list[str]] | None = None
    ) -> FaultDecision | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path, query or {}):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        del self._rules[index]
                    if rule.decision.kind == "stall":
                        self._stalls_taken += 1
                        return replace(rule.decision, ticket=self._stalls_taken)
                    return rule.decision
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return FaultDecision("fault_rate", self._rng.choice(self.fault_statuses))
        return None

    def delay(self) -> float:
        """Seconds of added latency for one answer."""
        with self._lock:
            if not self.latency_ms and not self.jitter_ms:
                return 0.0
            jitter = self._rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0
            return (self.latency_ms + jitter) / 1000.0
