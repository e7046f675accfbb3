"""Instructions per page of the walk: the client's against the hand-written loop's, and the
client's page piece by piece (valgrind's cachegrind; no load on the machine changes them).

    python bench/walk_instructions.py                 # 60 pages each (a few minutes)
    python bench/walk_instructions.py --pages 100

The emulator runs in its own process, not counted. Each figure is one child process under
cachegrind (no cache model) doing PAGES pages of 100 runs, minus the same child stopping after
its warm-up (imports, connections, compiled parsers, two pages of each kind), divided by PAGES:

    loop            requests: session.get() + resp.json() (stdlib json, what json() uses)
    loop-orjson     the same loop decoding with orjson.loads(resp.content)
    loop-get        the same loop's GETs alone, nothing decoded
    transport       the client's transport: request and bounded body read
    decode          the same + decoding (orjson when installed, with the long-number check)
    records         the same + RunListItem.from_api of each run
    client          a page of client.runs.list(period=...).iter_pages(): what the walk does
    client-json     the same with orjson off (the client without the speed extra)

then ``loop`` and ``client`` again with the garbage collector off (what collections cost).
Instructions are not time (orjson's SIMD code does more per instruction than the
interpreter), but they show where the client's extra work is, exactly, on a shared machine
(``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = (
    "loop",
    "loop-orjson",
    "loop-get",
    "transport",
    "decode",
    "records",
    "client",
    "client-json",
)


def child(mode: str, pages: int, collect: bool) -> None:
    """One measured process (run under cachegrind by ``main``)."""
    sys.path.insert(0, str(ROOT))
    import orjson
    import requests

    from django_trigger._http import transport as transport_module
    from django_trigger.client import TriggerClient
    from django_trigger.types import RunListItem

    url, key = os.environ["TRIGGER_API_URL"], os.environ["TRIGGER_SECRET_KEY"]
    client = TriggerClient(key, base_url=url)
    session = requests.Session()
    session.trust_env = False
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "x-trigger-api-version": "2025-07-16",
    }

    # The page after the first, asked for again and again (outside the counted part).
    first = client.runs.list(period="3650d")
    params = {**first._params, "page[after]": first.next_cursor}

    def loop(count: int, decode: str) -> None:
        for _ in range(count):
            response = session.get(f"{url}/api/v1/runs", params=params, headers=headers)
            response.raise_for_status()
            if decode == "none":
                continue
            body = response.json() if decode == "json" else orjson.loads(response.content)
            for item in body["data"]:
                if item["id"]:
                    pass

    def pieces(count: int, upto: str) -> None:
        transport = client._transport
        for _ in range(count):
            raw = transport.request("GET", "/api/v1/runs", params=params)
            if upto == "transport":
                continue
            body = transport_module.loads(raw.http_response.content)
            if upto == "records":
                for item in body["data"]:
                    RunListItem.from_api(item)

    def walk(count: int) -> None:
        for index, page in enumerate(client.runs.list(period="3650d").iter_pages()):
            for run in page.data:
                if run.id:
                    pass
            if index + 1 == count:
                break

    if mode == "client-json":
        transport_module._orjson = None  # as without the speed extra
    runs = {
        "loop": lambda n: loop(n, "json"),
        "loop-orjson": lambda n: loop(n, "orjson"),
        "loop-get": lambda n: loop(n, "none"),
        "transport": lambda n: pieces(n, "transport"),
        "decode": lambda n: pieces(n, "decode"),
        "records": lambda n: pieces(n, "records"),
        "client": walk,
        "client-json": walk,
    }
    run = runs[mode]
    run(2)  # warm-up: the baseline process stops here
    if not collect:
        gc.disable()
    if pages:
        run(pages)


def instructions(mode: str, pages: int, collect: bool, env: dict[str, str]) -> int:
    command = [sys.executable, __file__, "--child", mode, "--pages", str(pages)]
    if not collect:
        command.append("--no-gc")
    # Once without valgrind first: bytecode written, nothing compiled in the counted runs.
    subprocess.run(command, env=env, check=True, capture_output=True)
    result = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *command,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    assert found, result.stderr[-2000:]
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--no-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pages, not args.no_gc)
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from client_bench import start_emulator

    server = start_emulator(args.runs)
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "TRIGGER_API_URL": server.base_url,
        "TRIGGER_SECRET_KEY": server.secret_key,
    }
    print(f"instructions per 100-run page, {args.pages} pages each (valgrind, cachegrind):")
    try:
        counts: dict[tuple[str, bool], float] = {}
        for mode, collect in [(mode, True) for mode in MODES] + [
            ("loop", False),
            ("client", False),
        ]:
            baseline = instructions(mode, 0, collect, env)
            total = instructions(mode, args.pages, collect, env)
            counts[mode, collect] = (total - baseline) / args.pages
            loop = counts["loop", collect]
            print(
                f"  {mode:12s} gc {'on ' if collect else 'off'} "
                f"{counts[mode, collect] / 1e6:6.3f} M  ({counts[mode, collect] / loop:.2f}x loop)"
            )
    finally:
        server.stop()
    collections = counts["client", True] - counts["client", False]
    print(
        f"  the collector's share of a client page: {collections / 1e6:.3f} M "
        f"(the loop's: {(counts['loop', True] - counts['loop', False]) / 1e6:.3f} M)"
    )


if __name__ == "__main__":
    main()
