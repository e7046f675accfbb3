"""Client benchmarks against the emulator on loopback (side by side, one process, one run).

    python bench/client_bench.py                 # defaults: 300 calls each, 10,000 runs
    python bench/client_bench.py --calls 1000 --runs 20000

1. Per-call overhead: ``client.runs.retrieve(id)`` (validation, headers, idempotency key,
   urllib3 retry object, typed parsing) against a bare ``requests.Session`` doing the same
   GET with the same headers and ``json()``. The two are interleaved call by call so that
   the emulator's own cost and any machine noise fall on both equally; the report gives the
   medians and their ratio.
2. Walking every run: ``for run in client.runs.list(period=...)`` over N runs — requests made
   (from the emulator's journal), wall time, and peak Python memory (tracemalloc) of the walk.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django_trigger.client import TriggerClient
from django_trigger.testing import Emulator


def per_call_overhead(emu: Emulator, calls: int) -> dict[str, float]:
    client = TriggerClient(emu.secret_key, base_url=emu.base_url)
    run_id = client.runs.list(limit=1, period="365d").data[0].id
    session = requests.Session()
    headers = {
        "Authorization": f"Bearer {emu.secret_key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }
    url = f"{emu.base_url}/api/v3/runs/{run_id}"
    bare, ours = [], []
    for _ in range(20):  # warm both pools
        session.get(url, headers=headers, timeout=10).json()
        client.runs.retrieve(run_id)
    for _ in range(calls):
        started = time.perf_counter()
        response = session.get(url, headers=headers, timeout=10)
        response.raise_for_status()
        response.json()
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.runs.retrieve(run_id)
        ours.append(time.perf_counter() - started)
    client.close()
    session.close()
    bare_ms = statistics.median(bare) * 1000
    ours_ms = statistics.median(ours) * 1000
    return {"bare_ms": bare_ms, "client_ms": ours_ms, "ratio": ours_ms / bare_ms}


def walk_all_runs(emu: Emulator) -> dict[str, float]:
    client = TriggerClient(emu.secret_key, base_url=emu.base_url)
    emu.journal.clear()
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    count = 0
    for _run in client.runs.list(period="3650d"):
        count += 1
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    client.close()
    return {
        "runs": count,
        "requests": emu.journal.count(path="/api/v1/runs"),
        "seconds": elapsed,
        "peak_mib": peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()

    with Emulator(seed=7, runs=args.runs) as emu:
        overhead = per_call_overhead(emu, args.calls)
        print(
            f"per call (median of {args.calls}): bare requests {overhead['bare_ms']:.2f} ms, "
            f"client {overhead['client_ms']:.2f} ms, ratio {overhead['ratio']:.2f}"
        )
        walk = walk_all_runs(emu)
        print(
            f"walk: {walk['runs']} runs in {walk['requests']} requests, "
            f"{walk['seconds']:.2f} s, peak Python memory {walk['peak_mib']:.1f} MiB"
        )


if __name__ == "__main__":
    main()
