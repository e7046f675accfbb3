"""Client benchmarks against the emulator on loopback (side by side, one process, one run).

    python bench/client_bench.py                 # defaults: 300 calls each, 10,000 runs
    python bench/client_bench.py --calls 1000 --runs 20000

The emulator runs in its own process (``python -m django_trigger.testing``), so this process
only does client work and its CPU time is the client's.

1. Per-call overhead: ``client.runs.retrieve(id)`` (validation, headers, idempotency key,
   urllib3 retry object, typed parsing) against a bare ``requests.Session`` doing the same
   GET with the same headers and ``json()``. The two alternate (ABBA) so that the server's
   cost and machine noise fall on both equally. Reported: median wall time per call and CPU
   time per call in this process, each with the client/bare ratio.
2. Walking every run: ``for run in client.runs.list(period=...)`` over N runs — requests made,
   wall time, and peak Python memory (tracemalloc) of the walk.
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
from dataclasses import dataclass
from pathlib import Path

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


def start_emulator(runs: int) -> Server:
    """The emulator in a child process, seeded with ``runs`` runs in the dev environment."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "django_trigger.testing", "--port", "0", "--seed", "7",
         "--runs", str(runs)],
        stdout=subprocess.PIPE, text=True, env=env,
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
        order = (("bare", bare), ("client", ours)) if index % 2 == 0 else (
            ("client", ours), ("bare", bare))
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


def walk_all_runs(server: Server) -> dict[str, float]:
    client = TriggerClient(server.secret_key, base_url=server.base_url)
    requests_made = 0
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    count = 0
    for page in client.runs.list(period="3650d").iter_pages():
        requests_made += 1
        count += len(page.data)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    client.close()
    return {"runs": count, "requests": requests_made, "seconds": elapsed,
            "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()

    server = start_emulator(args.runs)
    try:
        o = per_call_overhead(server, args.calls)
        print(f"retrieve a run, {args.calls} calls each, ABBA:")
        print(f"  wall (median): bare requests {o['bare_ms']:.3f} ms, client "
              f"{o['client_ms']:.3f} ms, ratio {o['ratio']:.2f}")
        print(f"  CPU in this process (mean): bare {o['bare_cpu_ms']:.3f} ms, client "
              f"{o['client_cpu_ms']:.3f} ms, ratio {o['cpu_ratio']:.2f}")
        walk = walk_all_runs(server)
        print(f"walk: {walk['runs']} runs in {walk['requests']} requests, "
              f"{walk['seconds']:.2f} s, peak Python memory {walk['peak_mib']:.1f} MiB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
