"""The request body size limit, as ASGI middleware: a declared Content-Length above the limit, or a
streamed body that grows past it, is answered 413 before the application reads it."""

from __future__ import annotations

import json
from typing import Any

from clonus.engine.errors import RequestTooLargeError


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(send, self.max_bytes)
            return
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise RequestTooLargeError(f"the request body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


async def _refuse(send, max_bytes: int) -> None:
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "too-long",
        "diagnostics": f"the request body is over {max_bytes} bytes"}]}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
