"""Run the emulator from the command line.

    python -m django_trigger.testing                         # http://127.0.0.1:8787, fresh keys
    python -m django_trigger.testing --port 0 --seed 1       # any free port, reproducible keys
    python -m django_trigger.testing --secret-key tr_dev_abcdefghijklmnopqrstuvwx \\
        --access-token tr_pat_... --project-ref proj_myproject1234567890

Prints the base URL and the keys, then serves until interrupted (Ctrl+C or SIGTERM). Point the
official SDK at it with ``configure({ baseURL, secretKey })`` or the ``TRIGGER_API_URL`` /
``TRIGGER_SECRET_KEY`` environment variables; point django_trigger at it with ``API_URL`` and
``ACCESS_TOKEN``.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m django_trigger.testing",
        description="A local emulator of the Trigger.dev management API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8787, help="port; 0 = any free port (default 8787)"
    )
    parser.add_argument(
        "--secret-key",
        help="dev secret key (tr_dev_…) of the default project; "
        "generated from the seed when omitted",
    )
    parser.add_argument(
        "--access-token",
        help="personal access token (tr_pat_…) of the default "
        "user; generated from the seed when omitted",
    )
    parser.add_argument(
        "--project-ref",
        help="ref (proj_…) of the default project; generated from the seed when omitted",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed for keys, ids and data (random when "
        "omitted; printed so a run can be reproduced)",
    )
    parser.add_argument(
        "--runs", type=int, default=300, help="runs to seed in the dev environment (default 300)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="latency added to every answer, in ms"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="random extra latency (0..N ms, seeded)"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests (0–1) answered 500/502/503, seeded",
    )
    parser.add_argument(
        "--request-idempotency",
        choices=("service", "documented"),
        default="service",
        help="'service' (default): a repeated x-trigger-request-idempotency-key "
        "deduplicates nothing, as the service's code; 'documented': trigger and "
        "batch creates replay as API.md §4.5 describes",
    )
    parser.add_argument(
        "--lifecycle",
        metavar="QUEUED,EXECUTING",
        type=_lifecycle,
        help="let triggered runs move by themselves: executing after QUEUED "
        "seconds, completed EXECUTING seconds later (e.g. 1,2); off by default",
    )
    parser.add_argument(
        "--realtime-hold",
        type=float,
        default=20.0,
        help="seconds a live realtime request waits for a change (default 20)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    return parser


def _lifecycle(value: str) -> object:
    from .lifecycle import Lifecycle

    try:
        queued, executing = (float(part) for part in value.split(","))
        return Lifecycle(queued=queued, executing=executing)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected QUEUED,EXECUTING seconds such as 1,2, not {value!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .emulator import Emulator
    except ImportError as exc:  # pragma: no cover - depends on the install
        # Not on PyPI yet: the extra is installed from a checkout or a wheel.
        print(
            f"The emulator needs the 'testing' extra: pip install "
            f"'path/to/django-trigger[testing]' (a checkout or the wheel; see "
            f"docs/installation.md) ({exc})",
            file=sys.stderr,
        )
        return 2
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    try:
        emulator = Emulator(
            seed=seed,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            fault_rate=args.fault_rate,
            secret_key=args.secret_key,
            access_token=args.access_token,
            project_ref=args.project_ref,
            host=args.host,
            port=args.port,
            runs=args.runs,
            request_idempotency=args.request_idempotency,
            lifecycle=args.lifecycle,
            realtime_hold=args.realtime_hold,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    if args.verbose:
        emulator.set_request_logger(
            lambda method, path, status: print(f"{method} {path} {status}", flush=True)
        )

    stop = threading.Event()
    # Both signals set the event: a process started from a non-interactive shell's background
    # job inherits SIGINT as ignored, and then Python never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    keys = emulator.secret_keys
    branches = ", ".join(emulator.preview_branches)
    print(f"Trigger.dev emulator listening on {emulator.base_url} (seed {seed})")
    print(f"TRIGGER_API_URL={emulator.base_url}")
    print(f"TRIGGER_SECRET_KEY={keys['dev']}")
    print(f"TRIGGER_ACCESS_TOKEN={emulator.access_token}")
    print(f"TRIGGER_PROJECT_REF={emulator.project_ref}")
    print(f"staging key: {keys['staging']}")
    print(f"prod key:    {keys['prod']}")
    print(f"preview key: {keys['preview']} (send x-trigger-branch: one of {branches})")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
