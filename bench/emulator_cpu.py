"""The emulator's CPU per request, measured in its own process over HTTP (Linux: /proc).

    python bench/emulator_cpu.py                 # 10,000 seeded runs, 300 requests each
    python bench/emulator_cpu.py --requests 1000

The emulator runs as ``python -m django_trigger.testing`` in a child process; a keep-alive
``requests.Session`` here asks for 100-run list pages, then for a missing run (404: routing
and auth only), and the child's user + system CPU time (from ``/proc/<pid>/stat``) is divided
by the number of requests: everything the emulator does for a request, its HTTP server
included, and nothing of the client's.

    python bench/emulator_cpu.py --baseline /path/to/other/checkout

compares list pages side by side: a second emulator runs from the other checkout (for example
``git worktree add /tmp/before <commit>``), and blocks of 100 pages alternate between the two
(ABBA); each block's CPU per page in its emulator, medians over ``--blocks`` blocks each. On a
shared machine, where the CPU time of the same work moves with the load, this ratio is what
tells a change apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_bench import start_emulator


def child_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def _goal(ms: float) -> str:
    return f"goal <= 2 ms per 100-run page: {'met' if ms <= 2 else 'NOT met'}"


def side_by_side(runs: int, baseline: Path, blocks: int) -> None:
    load = _load()
    servers = {"baseline": start_emulator(runs, root=baseline), "this": start_emulator(runs)}
    params = {"page[size]": "100", "filter[createdAt][period]": "60d"}
    per_page: dict[str, list[float]] = {name: [] for name in servers}
    try:
        sessions = {}
        for name, server in servers.items():
            session = requests.Session()
            session.trust_env = False
            session.headers.update(
                {
                    "Authorization": f"Bearer {server.secret_key}",
                    "x-trigger-api-version": "2025-07-16",
                }
            )
            sessions[name] = session

        def block(name: str, pages: int) -> None:
            url = f"{servers[name].base_url}/api/v1/runs"
            for _ in range(pages):
                sessions[name].get(url, params=params, timeout=30).raise_for_status()

        for name in servers:
            block(name, 20)
        names = list(servers)
        for index in range(blocks * 2):
            for name in names if index % 2 == 0 else names[::-1]:
                started = child_cpu(servers[name].process.pid)
                block(name, 100)
                per_page[name].append((child_cpu(servers[name].process.pid) - started) * 10)
    finally:
        for server in servers.values():
            server.stop()
    median = {name: statistics.median(values) for name, values in per_page.items()}
    print(
        f"list page of 100 runs, emulator CPU per page (median of {blocks * 2} blocks of 100, "
        f"ABBA; load average {load} -> {_load()}): baseline {median['baseline']:.2f} ms, this "
        f"checkout {median['this']:.2f} ms, ratio {median['this'] / median['baseline']:.2f}; "
        f"{_goal(median['this'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--blocks", type=int, default=5, help="ABBA pairs (with --baseline)")
    args = parser.parse_args()
    if args.baseline:
        side_by_side(args.runs, args.baseline, args.blocks)
        return
    server = start_emulator(args.runs)

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
            200,
        ),
        "404 (routing + auth)": (f"{server.base_url}/api/v3/runs/run_missing", None, 404),
    }
    try:
        for name, (url, params, expected) in cases.items():
            for _ in range(20):
                session.get(url, params=params, headers=headers, timeout=30)
            cpu, wall = child_cpu(server.process.pid), time.perf_counter()
            for _ in range(args.requests):
                status = session.get(url, params=params, headers=headers, timeout=30).status_code
                assert status == expected, (name, status)
            cpu, wall = child_cpu(server.process.pid) - cpu, time.perf_counter() - wall
            per_request = cpu / args.requests * 1000
            print(
                f"{name:<24} emulator CPU {per_request:.2f} ms per request "
                f"({args.requests / cpu if cpu else float('inf'):,.0f} requests per CPU "
                f"second); wall {wall / args.requests * 1000:.2f} ms; load average {_load()}"
                + (f"; {_goal(per_request)}" if params else "")
            )
    finally:
        session.close()
        server.stop()


if __name__ == "__main__":
    main()
