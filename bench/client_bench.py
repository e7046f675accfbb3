"""Client benchmarks against the emulator on loopback (side by side, one process, one run).

    python bench/client_bench.py                 # 1000 calls each, 10,000 runs, 0 and 20 ms
    python bench/client_bench.py --calls 300 --rounds 5 --latency-ms 0
    python bench/client_bench.py --walk-only --latency-ms 0      # one claim: the walk at 0 ms

The emulator runs in its own process (``python -m django_trigger.testing``), so this process
only does client work and its CPU time is the client's.

1. Per-call overhead: ``client.runs.retrieve(id)`` (validation, headers, idempotency key,
   urllib3 retry object, typed parsing) against a bare ``requests.Session`` doing the same
   GET with the same headers and ``json()``. The two alternate (ABBA) so that the server's
   cost and machine noise fall on both equally. Reported: median wall time per call and CPU
   time per call in this process, each with the client/bare ratio.
2. Walking every run: ``for run in client.runs.list(period=...)`` against a hand-written
   ``requests`` loop over the same pages (100 runs each), ABBA, at each ``--latency-ms`` (the
   emulator's added latency per request): wall and CPU per walk, and the client's peak Python
   memory (tracemalloc) for a walk. Then the same two walks advanced page by page in turn,
   so that a burst of load on a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from django_trigger.client import TriggerClient  # noqa: E402


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    secret_key: str

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=20)


def start_emulator(runs: int, latency_ms: float = 0.0, root: Path = ROOT) -> Server:
    """The emulator in a child process, seeded with ``runs`` runs in the dev environment
    (``root``: the checkout whose django_trigger runs it)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_trigger.testing",
            "--port",
            "0",
            "--seed",
            "7",
            "--runs",
            str(runs),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=root,
    )
    values = {}
    assert process.stdout is not None
    for line in process.stdout:
        if "=" in line and line.startswith("TRIGGER_"):
            key, value = line.strip().split("=", 1)
            values[key] = value
        if line.startswith("Press Ctrl+C"):
            break
    return Server(process, values["TRIGGER_API_URL"], values["TRIGGER_SECRET_KEY"])


def per_call_overhead(server: Server, calls: int) -> dict[str, float]:
    client = TriggerClient(server.secret_key, base_url=server.base_url)
    run_id = client.runs.list(limit=1, period="365d").data[0].id
    session = requests.Session()
    session.trust_env = False  # as the client's session: no proxy/netrc lookups per request
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{server.base_url}/api/v3/runs/{run_id}"

    def bare() -> None:
        response = session.get(url, headers=headers, timeout=10)
        response.raise_for_status()
        response.json()

    def ours() -> None:
        client.runs.retrieve(run_id)

    wall: dict[str, list[float]] = {"bare": [], "client": []}
    cpu: dict[str, list[float]] = {"bare": [], "client": []}
    for _ in range(20):  # warm both connection pools
        bare()
        ours()
    for index in range(calls):
        order = (
            (("bare", bare), ("client", ours))
            if index % 2 == 0
            else (("client", ours), ("bare", bare))
        )
        for name, call in order:
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    client.close()
    session.close()
    result = {}
    for name in ("bare", "client"):
        result[f"{name}_ms"] = statistics.median(wall[name]) * 1000
        result[f"{name}_cpu_ms"] = statistics.fmean(cpu[name]) * 1000
    result["ratio"] = result["client_ms"] / result["bare_ms"]
    result["cpu_ratio"] = result["client_cpu_ms"] / result["bare_cpu_ms"]
    return result


def walk_side_by_side(server: Server, rounds: int) -> dict[str, float]:
    """Every run, page by page (100 per page), by the client and by a hand-written requests
    loop doing the same GETs (same headers, cursors from ``pagination.next``, ``json()``),
    alternating ABBA. Both touch each run's id. Reported: median wall and CPU per walk."""
    client = TriggerClient(server.secret_key, base_url=server.base_url)
    session = requests.Session()
    session.trust_env = False
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{server.base_url}/api/v1/runs"

    def bare() -> int:
        params = {"page[size]": "100", "filter[createdAt][period]": "3650d"}
        count = 0
        while True:
            response = session.get(url, params=params, headers=headers, timeout=30)
            response.raise_for_status()
            body = response.json()
            for item in body["data"]:
                if item["id"]:
                    count += 1
            after = body["pagination"].get("next")
            if not after or not body["data"]:
                return count
            params["page[after]"] = after

    def ours() -> int:
        count = 0
        for run in client.runs.list(period="3650d"):
            if run.id:
                count += 1
        return count

    wall: dict[str, list[float]] = {"bare": [], "client": []}
    cpu: dict[str, list[float]] = {"bare": [], "client": []}
    counts = {"bare": bare(), "client": ours()}  # warm up; both must see every run
    assert counts["bare"] == counts["client"], counts
    for index in range(rounds * 2):
        order = [("bare", bare), ("client", ours)]
        if index % 2:
            order.reverse()
        for name, walk in order:
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            walk()
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    # memory of one more client walk (tracemalloc slows it down: not timed)
    gc.collect()
    tracemalloc.start()
    ours()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    client.close()
    session.close()
    result = {"runs": counts["client"], "peak_mib": peak / 2**20}
    for name in ("bare", "client"):
        result[f"{name}_s"] = statistics.median(wall[name])
        result[f"{name}_cpu_s"] = statistics.median(cpu[name])
    result["ratio"] = result["client_s"] / result["bare_s"]
    result["cpu_ratio"] = result["client_cpu_s"] / result["bare_cpu_s"]
    return result


def walk_interleaved(server: Server, rounds: int) -> dict[str, Any]:
    """The same two walks advanced page by page in turn (client page, loop page, loop page,
    client page, …), each page's fetch timed: a burst of load on a shared machine then falls on
    both walks alike, where whole walks one after the other can each catch a different one.
    Reported: the median over ``rounds`` of each walk's summed page times."""
    client = TriggerClient(server.secret_key, base_url=server.base_url)
    session = requests.Session()
    session.trust_env = False
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{server.base_url}/api/v1/runs"

    def bare_pages() -> Iterator[int]:
        params = {"page[size]": "100", "filter[createdAt][period]": "3650d"}
        while True:
            response = session.get(url, params=params, headers=headers, timeout=30)
            response.raise_for_status()
            body = response.json()
            yield sum(1 for item in body["data"] if item["id"])
            after = body["pagination"].get("next")
            if not after or not body["data"]:
                return
            params["page[after]"] = after

    def client_pages() -> Iterator[int]:
        for page in client.runs.list(period="3650d").iter_pages():
            yield sum(1 for run in page.data if run.id)

    wall: dict[str, list[float]] = {"bare": [], "client": []}
    cpu: dict[str, list[float]] = {"bare": [], "client": []}
    for index in range(rounds * 2):
        walks = {"bare": bare_pages(), "client": client_pages()}
        spent = {name: [0.0, 0.0] for name in walks}
        counts = {name: 0 for name in walks}
        order = ["bare", "client"] if index % 2 else ["client", "bare"]
        gc.collect()
        while walks:
            for name in list(order):
                if name not in walks:
                    continue
                started, started_cpu = time.perf_counter(), time.process_time()
                count = next(walks[name], None)
                spent[name][1] += time.process_time() - started_cpu
                spent[name][0] += time.perf_counter() - started
                if count is None:
                    del walks[name]
                else:
                    counts[name] += count
            order.reverse()
        assert counts["bare"] == counts["client"], counts
        for name in spent:
            wall[name].append(spent[name][0])
            cpu[name].append(spent[name][1])
    client.close()
    session.close()
    result: dict[str, Any] = {"runs": counts["client"]}
    for name in ("bare", "client"):
        result[f"{name}_s"] = statistics.median(wall[name])
        result[f"{name}_cpu_s"] = statistics.median(cpu[name])
    result["ratio"] = result["client_s"] / result["bare_s"]
    result["cpu_ratio"] = result["client_cpu_s"] / result["bare_cpu_s"]
    result["ratios"] = sorted(c / b for c, b in zip(wall["client"], wall["bare"], strict=True))
    return result


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def _goal(ratio: float, goal: float) -> str:
    return f"goal <= {goal:g}: {'met' if ratio <= goal else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="ABBA pairs of walks")
    parser.add_argument(
        "--latency-ms",
        type=float,
        nargs="+",
        default=[0.0, 20.0],
        help="emulator latency per request for the walks",
    )
    parser.add_argument("--walk-only", action="store_true", help="skip the per-call part")
    parser.add_argument(
        "--emulator-root",
        type=Path,
        default=ROOT,
        help="the checkout whose emulator serves the calls (default: this one), to compare "
        "two checkouts' clients against the same emulator",
    )
    args = parser.parse_args()

    if not args.walk_only:
        per_call(args)
    for latency in args.latency_ms:
        walk(args, latency)


def per_call(args: argparse.Namespace) -> None:
    server = start_emulator(args.runs, root=args.emulator_root)
    try:
        o = per_call_overhead(server, args.calls)
        print(f"retrieve a run, {args.calls} calls each, ABBA (load average {_load()}):")
        print(
            f"  wall (median): bare requests {o['bare_ms']:.3f} ms, client "
            f"{o['client_ms']:.3f} ms, ratio {o['ratio']:.2f}"
        )
        print(
            f"  CPU in this process (mean): bare {o['bare_cpu_ms']:.3f} ms, client "
            f"{o['client_cpu_ms']:.3f} ms, ratio {o['cpu_ratio']:.2f}"
        )
    finally:
        server.stop()


def walk(args: argparse.Namespace, latency: float) -> None:
    load = _load()
    server = start_emulator(args.runs, latency, root=args.emulator_root)
    try:
        w = walk_side_by_side(server, args.rounds)
        i = walk_interleaved(server, args.rounds)
    finally:
        server.stop()
    print(
        f"walk {w['runs']} runs, 100 per page, {latency:g} ms latency, "
        f"{args.rounds * 2} walks each, ABBA (medians; load average {load} -> {_load()}):"
    )
    print(
        f"  wall: requests loop {w['bare_s']:.2f} s, client {w['client_s']:.2f} s, "
        f"ratio {w['ratio']:.2f} ({_goal(w['ratio'], 1.05)})"
    )
    print(
        f"  CPU in this process: requests loop {w['bare_cpu_s']:.2f} s, client "
        f"{w['client_cpu_s']:.2f} s, ratio {w['cpu_ratio']:.2f}; client peak Python "
        f"memory {w['peak_mib']:.1f} MiB"
    )
    spread = ", ".join(f"{ratio:.2f}" for ratio in i["ratios"])
    print(
        f"  page by page in turn, {args.rounds * 2} walks each (medians): wall: requests "
        f"loop {i['bare_s']:.2f} s, client {i['client_s']:.2f} s, ratio {i['ratio']:.2f} "
        f"({_goal(i['ratio'], 1.05)}; each walk: {spread}); CPU ratio {i['cpu_ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
