"""A headless Chromium driven over its DevTools protocol on a pipe (fds 3 and 4): no driver package, no
port. Debian's /usr/bin/chromium (or $CLONUS_CHROMIUM). Browser tests call require_chromium(): on a
developer's machine without Chromium they skip with one line; under CI (CI=true) a missing Chromium fails,
since .ci/run installs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CLONUS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-dev-shm-usage", "--window-size=1400,900", "--remote-debugging-pipe"]
TIMEOUT_S = 60


class Browser:
    """Just enough of the DevTools protocol: commands with replies, and the events seen meanwhile."""

    def __init__(self, profile: Path):
        to_browser_r, to_browser_w = (_high(fd) for fd in os.pipe())
        from_browser_r, from_browser_w = (_high(fd) for fd in os.pipe())
        # The browser reads commands on fd 3 and writes replies on fd 4.
        script = f'exec 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-; exec "$0" "$@"'
        self.proc = subprocess.Popen(["bash", "-c", script, CHROMIUM, *FLAGS, f"--user-data-dir={profile}"],
                                     pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.out, self.inp = to_browser_w, from_browser_r
        self.buffer = b""
        self.events: list[dict] = []
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(self._read())

    def _read(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.inp], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "Chromium did not answer in time"
            chunk = os.read(self.inp, 1 << 16)
            assert chunk, "Chromium closed the DevTools pipe"
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):  # it may already be gone
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.out)
        os.close(self.inp)


def _high(fd: int) -> int:
    """The pipe end moved above 4, so that the shell's `exec 3<&N 4>&M` cannot overwrite it."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Page:
    """One tab with the network off, every request and script error recorded."""

    def __init__(self, browser: Browser, url: str):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        self.send("Page.navigate", {"url": url})
        browser.wait_for("Page.loadEventFired")

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def eval(self, expression: str):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) in the middle of the element."""
        box = self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                        ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2, r.width]; })()")
        assert box[2] > 0, f"{selector} is not drawn"
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.browser.events
                if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[dict]:
        return [e["params"] for e in self.browser.events if e.get("method") == "Runtime.exceptionThrown"]


def require_chromium() -> str:
    """The Chromium to drive; skip (or, under CI, fail) when there is none."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).is_file():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CLONUS_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: CI must run the browser tests", pytrace=False)
    pytest.skip(message)
