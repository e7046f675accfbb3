"""Typed parsing against ``json.loads`` of the same bytes, side by side in one process.

    python bench/parse_bench.py                  # 10,000 seeded runs, 15 rounds
    python bench/parse_bench.py --rounds 30

The bodies are real emulator answers (a 100-run list page, a run's retrieve), fetched once over
HTTP. Each round times, alternating the order (ABBA): ``json.loads(page)``, then turning the
decoded page into records (``RunListItem.from_api`` for each item, what ``client.runs.list``
does after decoding), the client's own decoding (``_http.transport.loads``: orjson when
installed) and both together (bytes to records), and the same for one retrieve
(``Run.from_api``). CPU time (``time.process_time``), best of 5 repetitions per round;
medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from django_trigger._http import transport  # noqa: E402
from django_trigger.testing import Emulator  # noqa: E402
from django_trigger.types import Run, RunListItem  # noqa: E402


def fetch_bodies(runs: int) -> tuple[bytes, bytes]:
    with Emulator(seed=7, runs=runs) as emu, requests.Session() as session:
        session.trust_env = False
        headers = {
            "Authorization": f"Bearer {emu.secret_key}",
            "x-trigger-api-version": "2025-07-16",
        }
        page = session.get(
            emu.url("/api/v1/runs"),
            headers=headers,
            timeout=30,
            params={"page[size]": "100", "filter[createdAt][period]": "3650d"},
        )
        page.raise_for_status()
        run_id = page.json()["data"][0]["id"]
        retrieve = session.get(emu.url(f"/api/v3/runs/{run_id}"), headers=headers, timeout=30)
        retrieve.raise_for_status()
        return page.content, retrieve.content


def cpu_per_call(work: Callable[[], Any], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(calls):
            work()
        best = min(best, (time.process_time() - started) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    page, retrieve = fetch_bodies(args.runs)
    items = json.loads(page)["data"]
    one = json.loads(retrieve)
    assert len(items) == 100

    cases: dict[str, tuple[Callable[[], Any], int]] = {
        "json.loads(page)": (lambda: json.loads(page), 100),
        "records from the decoded page": (lambda: [RunListItem.from_api(i) for i in items], 100),
        "client's decode of the page": (lambda: transport.loads(page), 100),
        "bytes to records": (
            lambda: [RunListItem.from_api(i) for i in transport.loads(page)["data"]],
            100,
        ),
        "json.loads(retrieve)": (lambda: json.loads(retrieve), 2000),
        "Run.from_api(retrieve)": (lambda: Run.from_api(one), 2000),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for index in range(args.rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            work, calls = cases[name]
            results[name].append(cpu_per_call(work, calls))
    median = {name: statistics.median(values) for name, values in results.items()}
    print(
        f"{len(page):,}-byte page of 100 runs, {len(retrieve):,}-byte retrieve; "
        f"{args.rounds} rounds, ABBA, CPU (median of best-of-5); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs:"
    )
    print(f"  json.loads(page)                 {median['json.loads(page)'] * 1e3:7.3f} ms")
    typed = median["records from the decoded page"]
    ratio = typed / median["json.loads(page)"]
    print(
        f"  records from the decoded page    {typed * 1e3:7.3f} ms   "
        f"ratio to json.loads {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})"
    )
    decoder = "orjson" if transport._load_orjson() else "json.loads, orjson not installed"
    decode = median["client's decode of the page"]
    print(f"  client's decode of the page      {decode * 1e3:7.3f} ms   ({decoder})")
    whole = median["bytes to records"]
    print(
        f"  bytes to records (both)          {whole * 1e3:7.3f} ms   "
        f"ratio to json.loads {whole / median['json.loads(page)']:.2f}"
    )
    print(f"  json.loads(retrieve)             {median['json.loads(retrieve)'] * 1e6:7.1f} µs")
    print(f"  Run.from_api(retrieve)           {median['Run.from_api(retrieve)'] * 1e6:7.1f} µs")


if __name__ == "__main__":
    main()
