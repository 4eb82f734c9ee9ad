"""Benchmark the CDS Hooks service on order-select: requests per second and latency percentiles, in
process (httpx over ASGI, no socket) and over loopback (`clonus serve` in its own process on 127.0.0.1,
a free port), both
flat out and paced at a fixed rate. Bounded: a fixed number of requests, loopback only.

    python benchmarks/service.py [--requests 1000] [--rate 50] [--paced 500]

Target (design, not asserted anywhere): p99 under 20 ms over loopback at 50 requests/s on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUEST = json.loads((REPO / "examples" / "cds-hooks" / "order-select.json").read_text(encoding="utf-8"))
PATH = "/cds-services/clonus-order-select"


def report(label: str, seconds: list[float], elapsed: float) -> None:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"  {label:34} {len(ordered) / elapsed:7.0f} req/s   median {statistics.median(ordered) * 1e3:6.2f} ms"
          f"   p99 {p99 * 1e3:6.2f} ms   max {ordered[-1] * 1e3:6.2f} ms   (n={len(ordered)})")


def in_process(app, requests: int) -> None:
    import httpx

    async def run() -> tuple[list[float], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            for _ in range(20):
                await client.post(PATH, json=REQUEST)
            times = []
            start = time.perf_counter()
            for _ in range(requests):
                t0 = time.perf_counter()
                response = await client.post(PATH, json=REQUEST)
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
            return times, time.perf_counter() - start

    times, elapsed = asyncio.run(run())
    report("in process, flat out", times, elapsed)


def start_server() -> tuple[subprocess.Popen, str]:
    """`clonus serve` in its own process (as deployed) on a free loopback port; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "clonus", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, base
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    sys.exit("clonus serve did not start")


def loopback(base: str, requests: int, rate: float | None) -> None:
    """Sequential requests over one keep-alive connection; paced at `rate` per second when given. The
    client sets TCP_NODELAY as EHR clients do: without it, httpx writes the headers and the body apart
    and Nagle's algorithm with delayed ACKs adds about 40 ms to every request."""
    import httpx

    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(base_url=base, timeout=10, transport=transport) as client:
        for _ in range(20):
            client.post(PATH, json=REQUEST)
        times = []
        start = time.perf_counter()
        for i in range(requests):
            if rate:
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            t0 = time.perf_counter()
            response = client.post(PATH, json=REQUEST)
            times.append(time.perf_counter() - t0)
            if response.status_code != 200:
                sys.exit(f"status {response.status_code}: {response.text[:200]}")
        elapsed = time.perf_counter() - start
    pace = f"paced at {rate:g}/s" if rate else "flat out"
    report(f"loopback, {pace}", times, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per flat-out run")
    parser.add_argument("--rate", type=float, default=50, help="requests per second of the paced run")
    parser.add_argument("--paced", type=int, default=500, help="requests in the paced run")
    args = parser.parse_args()

    from clonus.service.app import create_app
    from clonus.service.config import ServiceConfig

    print(f"order-select ({len(json.dumps(REQUEST))} bytes of request), {args.requests} requests per run")
    in_process(create_app(ServiceConfig(base_url="http://127.0.0.1:8080")), args.requests)
    proc, base = start_server()
    try:
        loopback(base, args.requests, None)
        loopback(base, args.paced, args.rate)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
