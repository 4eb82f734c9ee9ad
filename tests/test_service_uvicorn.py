"""The service over a real socket: uvicorn on 127.0.0.1 with an ephemeral port, started and stopped by
the test, a bounded number of requests with timeouts; and `clonus serve` as a user starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn

from clonus.service.app import create_app
from clonus.service.config import ServiceConfig

from servicekit import hook_request

TIMEOUT_S = 10


@pytest.fixture(scope="module")
def server(shipped_kb):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(ServiceConfig(base_url=base), kb=shipped_kb)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield base
    srv.should_exit = True
    thread.join(TIMEOUT_S)
    sock.close()


def test_discovery_and_a_hook_over_loopback(server):
    with httpx.Client(base_url=server, timeout=TIMEOUT_S) as client:
        assert len(client.get("/cds-services").json()["services"]) == 3
        response = client.post("/cds-services/clonus-order-select", json=hook_request("order-select"))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert any("suggestions" in card for card in response.json()["cards"])


def test_concurrent_calls_share_one_advisor_safely(server):
    """Eight threads, five calls each: every answer the same, never an engine error (the Advisor's lock)."""
    request = hook_request("order-select")
    bodies: list[bytes] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with httpx.Client(base_url=server, timeout=TIMEOUT_S) as client:
                for _ in range(5):
                    response = client.post("/cds-services/clonus-order-select", json=request)
                    assert response.status_code == 200, response.text
                    bodies.append(response.content)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * 5)
    assert not errors, errors[0]
    assert len(bodies) == 40 and len(set(bodies)) == 1


def test_clonus_serve_starts_answers_and_stops():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    clonus = [sys.executable, "-m", "clonus", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(clonus, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline, health = time.monotonic() + 30, None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health["status"] == "ok"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=TIMEOUT_S)
    assert f"http://127.0.0.1:{port}/cds-services" in err and "loopback only" in err
