"""The async client's per-call overhead against a bare ``httpx.AsyncClient``, side by side
in one run, against the emulator on loopback (in a child process, so this process's CPU is
the clients').

    python bench/async_bench.py                       # 3 rounds of 1000 calls each
    python bench/async_bench.py --calls 300 --concurrency 20 --latency-ms 50

1. Per call: ``await client.runs.retrieve(id)`` (validation, headers, idempotency key, retry
   and deadline bookkeeping, body read within the deadline and size cap, typed parsing)
   against ``await http.get(url, headers=...)`` + ``response.json()`` on a bare
   ``httpx.AsyncClient``. The two alternate (ABBA). Reported per round (``--repeats``):
   median wall time and mean CPU per call, each with the client/bare ratio; then the median
   ratios of the rounds.
2. Concurrency: ``--concurrency`` calls gathered at once, with the emulator's
   ``--latency-ms`` added to each answer, for both; and the same number one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from client_bench import Server, start_emulator  # noqa: E402

from django_trigger.async_client import AsyncTriggerClient  # noqa: E402


async def per_call_overhead(server: Server, calls: int, repeats: int) -> list[dict[str, float]]:
    client = AsyncTriggerClient(server.secret_key, base_url=server.base_url)
    run_id = (await client.runs.list(limit=1, period="365d")).data[0].id
    http = httpx.AsyncClient(trust_env=False)
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{server.base_url}/api/v3/runs/{run_id}"

    async def bare() -> None:
        response = await http.get(url, headers=headers, timeout=10)
        response.raise_for_status()
        response.json()

    async def ours() -> None:
        await client.runs.retrieve(run_id)

    for _ in range(20):  # warm both pools
        await bare()
        await ours()
    rounds = []
    for _ in range(repeats):
        rounds.append(await _abba(bare, ours, calls))
    await client.aclose()
    await http.aclose()
    return rounds


async def _abba(
    bare: Callable[[], Awaitable[None]], ours: Callable[[], Awaitable[None]], calls: int
) -> dict[str, float]:
    """``calls`` of each, alternating ABBA: median wall and mean CPU per call, and ratios."""
    wall: dict[str, list[float]] = {"bare": [], "client": []}
    cpu: dict[str, list[float]] = {"bare": [], "client": []}
    for index in range(calls):
        order = (
            (("bare", bare), ("client", ours))
            if index % 2 == 0
            else (("client", ours), ("bare", bare))
        )
        for name, call in order:
            started, started_cpu = time.perf_counter(), time.process_time()
            await call()
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    result = {}
    for name in ("bare", "client"):
        result[f"{name}_ms"] = statistics.median(wall[name]) * 1000
        result[f"{name}_cpu_ms"] = statistics.fmean(cpu[name]) * 1000
    result["ratio"] = result["client_ms"] / result["bare_ms"]
    result["cpu_ratio"] = result["client_cpu_ms"] / result["bare_cpu_ms"]
    return result


async def concurrency(server: Server, n: int, rounds: int) -> dict[str, float]:
    client = AsyncTriggerClient(server.secret_key, base_url=server.base_url)
    run_id = (await client.runs.list(limit=1, period="365d")).data[0].id
    http = httpx.AsyncClient(trust_env=False, limits=httpx.Limits(max_connections=None))
    headers = {
        "Authorization": f"Bearer {server.secret_key}",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{server.base_url}/api/v3/runs/{run_id}"

    async def bare() -> None:
        (await http.get(url, headers=headers, timeout=10)).json()

    async def ours() -> None:
        await client.runs.retrieve(run_id)

    times: dict[str, list[float]] = {"bare": [], "client": [], "one": [], "sequence": []}
    for call in (bare, ours):  # open n connections each
        await asyncio.gather(*(call() for _ in range(n)))
    for index in range(rounds * 2):
        order = [("bare", bare), ("client", ours)]
        if index % 2:
            order.reverse()
        for name, call in order:
            started = time.perf_counter()
            await asyncio.gather(*(call() for _ in range(n)))
            times[name].append(time.perf_counter() - started)
    for _ in range(rounds):
        started = time.perf_counter()
        await ours()
        times["one"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(n):
            await ours()
        times["sequence"].append(time.perf_counter() - started)
    await client.aclose()
    await http.aclose()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    server = start_emulator(args.runs)
    try:
        rounds = asyncio.run(per_call_overhead(server, args.calls, args.repeats))
        print(f"retrieve a run, {args.repeats} rounds of {args.calls} calls each, ABBA:")
        for o in rounds:
            print(
                f"  wall (median): bare httpx {o['bare_ms']:.3f} ms, async client "
                f"{o['client_ms']:.3f} ms, ratio {o['ratio']:.2f}; CPU in this process "
                f"(mean): bare {o['bare_cpu_ms']:.3f} ms, client {o['client_cpu_ms']:.3f} ms, "
                f"ratio {o['cpu_ratio']:.2f}"
            )
        print(
            f"  median of the rounds: wall ratio "
            f"{statistics.median(o['ratio'] for o in rounds):.2f}, CPU ratio "
            f"{statistics.median(o['cpu_ratio'] for o in rounds):.2f}"
        )
    finally:
        server.stop()
    server = start_emulator(args.runs, args.latency_ms)
    try:
        c = asyncio.run(concurrency(server, args.concurrency, args.rounds))
        print(
            f"{args.concurrency} concurrent retrieves at {args.latency_ms:g} ms latency "
            f"(median of {args.rounds * 2}, ABBA):"
        )
        print(
            f"  bare httpx {c['bare'] * 1000:.0f} ms, async client {c['client'] * 1000:.0f} "
            f"ms; one call {c['one'] * 1000:.0f} ms; {args.concurrency} one after another "
            f"{c['sequence'] * 1000:.0f} ms"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
