"""What the service tests share: the app for the shipped KB, an in-process client (httpx over ASGI, no
network), the example hook requests, and RSA keys with signed tokens made by the tests themselves."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from conftest import EXAMPLES

BASE_URL = "http://127.0.0.1:8080"
HOOKS = EXAMPLES / "cds-hooks"


def hook_request(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((HOOKS / f"{name}.json").read_text(encoding="utf-8")))


class Client:
    """A synchronous face over httpx's ASGI transport: requests go to the app in this process."""

    def __init__(self, app: Any, base_url: str = BASE_URL):
        self.app = app
        self.base_url = base_url

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, path, **kwargs)
        return asyncio.run(go())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


def rsa_key(kid: str = "test-key"):
    """A fresh RSA private key and its public JWKS (as the CDS client would publish it)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": kid, "use": "sig", "alg": "RS384"})
    return key, {"keys": [public]}


def token(key: Any, aud: str, iss: str = "https://ehr.example.org", kid: str = "test-key", alg: str = "RS384",
          **claims: Any) -> str:
    import jwt

    now = int(time.time())
    payload = {"iss": iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def write_jwks(tmp: Path, jwks: dict[str, Any]) -> Path:
    path = tmp / "jwks.json"
    path.write_text(json.dumps(jwks), encoding="utf-8")
    return path
