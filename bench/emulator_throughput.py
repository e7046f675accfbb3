#!/usr/bin/env python
"""Emulator throughput on loopback: requests per second with HTTP keep-alive, one client thread
and several, so client benchmarks can tell that they measure the client, not the emulator.

    python bench/emulator_throughput.py                    # 10,000 seeded runs, 1 and 4 threads
    python bench/emulator_throughput.py --runs 2000 --requests 500 --threads 1 8

Scenarios (each on a keep-alive connection per thread):
  list-100   GET /api/v1/runs?page[size]=100 (60-day window) over --runs runs
  list-25    GET /api/v1/runs (the defaults: 25 items, 7-day window)
  retrieve   GET /api/v3/runs/{id}
  trigger    POST /api/v1/tasks/{id}/trigger
  missing    GET /api/v3/runs/run_missing (404: routing + auth, no rendering)

Two clients: ``http.client`` (thin, shows the server's capacity) and ``requests.Session``
(what django_trigger uses). Also the CPU of one list page in process (no sockets): the whole
WSGI call and its parts (filter + paginate, rendering, JSON encoding).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from django_trigger.testing import Emulator
from django_trigger.testing.errors import dumps
from django_trigger.testing.resources.runs import RunFilter

V2 = "2025-07-16"


def scenarios(emu: Emulator) -> dict[str, tuple[str, str, bytes | None]]:
    with emu.state.lock:
        dev = emu.state.environment_for_key(emu.secret_key)
        run_id = emu.state.runs.in_environment(dev.id)[0].friendly_id
    body = json.dumps({"payload": {"to": "bench@example.com"}}).encode()
    return {
        "list-100": ("GET", "/api/v1/runs?page[size]=100&filter[createdAt][period]=60d", None),
        "list-25": ("GET", "/api/v1/runs", None),
        "retrieve": ("GET", f"/api/v3/runs/{run_id}", None),
        "trigger": ("POST", "/api/v1/tasks/bench-task/trigger", body),
        "missing": ("GET", "/api/v3/runs/run_missing", None),
    }


def http_client_worker(
    emu: Emulator, request: tuple[str, str, bytes | None], count: int
) -> Callable[[], None]:
    method, path, body = request
    headers = {
        "Authorization": f"Bearer {emu.secret_key}",
        "x-trigger-api-version": V2,
        "Content-Type": "application/json",
    }

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
        try:
            for _ in range(count):
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 500:
                    raise RuntimeError(f"{method} {path}: {response.status}")
        finally:
            conn.close()

    return work


def requests_worker(
    emu: Emulator, request: tuple[str, str, bytes | None], count: int
) -> Callable[[], None]:
    method, path, body = request
    headers = {
        "Authorization": f"Bearer {emu.secret_key}",
        "x-trigger-api-version": V2,
        "Content-Type": "application/json",
    }
    url = emu.url(path)

    def work() -> None:
        with requests.Session() as session:
            for _ in range(count):
                response = session.request(method, url, data=body, headers=headers, timeout=30)
                if response.status_code >= 500:
                    raise RuntimeError(f"{method} {path}: {response.status_code}")

    return work


def measure(
    make: Callable[..., Callable[[], None]],
    emu: Emulator,
    request: tuple[str, str, bytes | None],
    threads: int,
    total: int,
) -> float:
    per_thread = max(1, total // threads)
    workers = [threading.Thread(target=make(emu, request, per_thread)) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return per_thread * threads / elapsed


def in_process_list_ms(emu: Emulator, repeat: int = 200) -> dict[str, float]:
    """CPU ms of one 100-item list page in this process, no sockets: the whole WSGI call
    (routing, auth, filter + paginate, rendering the items, JSON encoding), and the parts.
    Median of ``repeat`` calls each."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {emu.secret_key}", "HTTP_X_TRIGGER_API_VERSION": V2}

    def wsgi_call() -> bytes:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/v1/runs",
            "QUERY_STRING": "page[size]=100&filter[createdAt][period]=60d",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(emu.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            **headers,
        }
        return b"".join(emu.app(environ, lambda status, headers, exc_info=None: None))

    def timed(work: Callable[[], Any]) -> float:
        samples = []
        for _ in range(repeat):
            started = time.process_time()
            work()
            samples.append((time.process_time() - started) * 1000)
        return statistics.median(samples)

    with emu.state.lock:
        store = emu.state.runs
        dev = emu.state.environment_for_key(emu.secret_key)
        flt = RunFilter(period_ms=60 * 86_400_000)
        runs = store.list(dev.id, flt, 100).runs
        items = store.render_list_items(runs, True)
        parts = {
            "query": timed(lambda: store.list(dev.id, flt, 100)),
            "render": timed(lambda: store.render_list_items(runs, True)),
            "encode": timed(lambda: dumps({"data": items, "pagination": {}})),
        }
    for _ in range(20):
        wsgi_call()
    parts["wsgi"] = timed(wsgi_call)
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000, help="per scenario and client")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    started = time.perf_counter()
    emu = Emulator(seed=1, runs=args.runs)
    seeded = time.perf_counter() - started
    with emu:
        with emu.state.lock:
            total_runs = len(emu.state.runs)
        print(
            f"emulator: {total_runs:,} runs seeded in {seeded:.2f} s "
            f"({args.runs:,} in the dev environment); Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs"
        )
        cpu = in_process_list_ms(emu)
        print(
            f"list page of 100 over {args.runs:,} runs, CPU in process (median): whole "
            f"WSGI call {cpu['wsgi']:.2f} ms = filter+paginate {cpu['query']:.2f} + render "
            f"{cpu['render']:.2f} + JSON encoding {cpu['encode']:.2f} + routing/auth/journal"
        )
        print()
        header = f"{'scenario':<10} {'client':<12}" + "".join(
            f"{f'{t} thread' + ('s' if t > 1 else ''):>14}" for t in args.threads
        )
        print(header + "   (requests/s, keep-alive)")
        for name, request in scenarios(emu).items():
            for label, make in (("http.client", http_client_worker), ("requests", requests_worker)):
                cells = []
                for threads in args.threads:
                    emu.journal.clear()
                    rate = measure(make, emu, request, threads, args.requests)
                    cells.append(f"{rate:>14,.0f}")
                print(f"{name:<10} {label:<12}" + "".join(cells), flush=True)
        errors = emu.server_errors
    if errors:
        print("emulator errors:", *errors, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
