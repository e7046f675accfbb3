"""The emulator's CPU per request, measured in its own process over HTTP (Linux: /proc).

    python bench/emulator_cpu.py                 # 10,000 seeded runs, 300 requests each
    python bench/emulator_cpu.py --requests 1000

The emulator runs as ``python -m django_trigger.testing`` in a child process; a keep-alive
``requests.Session`` here asks for 100-run list pages, then for a missing run (404: routing
and auth only), and the child's user + system CPU time (from ``/proc/<pid>/stat``) is divided
by the number of requests: everything the emulator does for a request, its HTTP server
included, and nothing of the client's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_bench import start_emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    server = start_emulator(args.runs)
    ticks = os.sysconf("SC_CLK_TCK")

    def child_cpu() -> float:
        with open(f"/proc/{server.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    session = requests.Session()
    session.trust_env = False
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "x-trigger-api-version": "2025-07-16",
    }
    cases = {
        "list page of 100 runs": (
            f"{server.base_url}/api/v1/runs",
            {"page[size]": "100", "filter[createdAt][period]": "60d"},
        ),
        "404 (routing + auth)": (f"{server.base_url}/api/v3/runs/run_missing", None),
    }
    try:
        for name, (url, params) in cases.items():
            for _ in range(20):
                session.get(url, params=params, headers=headers, timeout=30)
            cpu, wall = child_cpu(), time.perf_counter()
            for _ in range(args.requests):
                session.get(url, params=params, headers=headers, timeout=30).raise_for_status()
            cpu, wall = child_cpu() - cpu, time.perf_counter() - wall
            print(
                f"{name:<24} emulator CPU {cpu / args.requests * 1000:.2f} ms per request "
                f"({args.requests / cpu if cpu else float('inf'):,.0f} requests per CPU "
                f"second); wall {wall / args.requests * 1000:.2f} ms"
            )
    finally:
        session.close()
        server.stop()


if __name__ == "__main__":
    main()
