"""Bearer JWT verification, as CDS Hooks asks of a service that trusts its clients: the key by `kid` from
the issuer's JWKS, asymmetric algorithms only (never `none`, never HMAC), `iss` trusted, `aud` the
URL called, `exp` and `iat` checked, a `jti` never accepted twice. Every failure is the same 401."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from clonus.engine.errors import AuthenticationError, UsageError

from .config import TrustedIssuer

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_S = 30
MAX_REMEMBERED = 100_000  # jti values kept until their token expires


class Verifier:
    """Verifies the Authorization header of each call against the trusted issuers' keys."""

    def __init__(self, issuers: tuple[TrustedIssuer, ...], base_url: str):
        self.base_url = base_url.rstrip("/")
        self.keys = {issuer.iss: _key_source(issuer) for issuer in issuers}
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, path: str) -> None:
        """Return if the token is good for `path`; AuthenticationError (401, no detail) otherwise."""
        import jwt

        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError()
        try:
            header = jwt.get_unverified_header(token)
            alg, kid = header.get("alg"), header.get("kid")
            if alg not in ALGORITHMS or not isinstance(kid, str):
                raise AuthenticationError()
            iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
            source = self.keys.get(iss) if isinstance(iss, str) else None
            if source is None:
                raise AuthenticationError()
            key = source.key(kid, alg)
            claims = jwt.decode(token, key, algorithms=[alg], audience=self.base_url + path, issuer=iss,
                                leeway=LEEWAY_S, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise AuthenticationError() from exc
        self._once(str(claims["jti"]), float(claims["exp"]))

    def _once(self, jti: str, exp: float) -> None:
        now = time.time()
        with self._lock:
            if self._seen.get(jti, 0) > now - LEEWAY_S:
                raise AuthenticationError()
            if len(self._seen) >= MAX_REMEMBERED:
                self._seen = {j: e for j, e in self._seen.items() if e > now - LEEWAY_S}
            self._seen[jti] = exp


class _KeySource:
    """An issuer's public keys: a JWKS file read once, or a JWKS URL fetched (and cached) by PyJWT."""

    def __init__(self, issuer: TrustedIssuer):
        import jwt

        self.issuer = issuer
        self.client = jwt.PyJWKClient(issuer.jwks) if issuer.jwks.startswith("https://") else None
        self.keys = {} if self.client else _read_jwks(issuer.jwks)

    def key(self, kid: str, alg: str) -> Any:
        """The public key for `kid`; a key whose JWK declares another `alg` is refused."""
        if self.client is not None:
            return self.client.get_signing_key(kid).key
        jwk, declared = self.keys[kid]
        if declared is not None and declared != alg:
            raise AuthenticationError()
        return jwk.key


def _key_source(issuer: TrustedIssuer) -> _KeySource:
    return _KeySource(issuer)


def _read_jwks(path: str) -> dict[str, tuple[Any, str | None]]:
    """kid -> (PyJWK, the alg its JWK declares) of a JWKS file; a file that is not a JWKS is a usage
    error when the service starts."""
    import jwt

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        found = {}
        for raw in data["keys"]:
            if isinstance(raw, dict) and isinstance(raw.get("kid"), str):
                found[raw["kid"]] = (jwt.PyJWK(raw), raw.get("alg"))
    except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
        raise UsageError(f"--trusted-issuer: {path!r} is not a readable JWKS file ({exc})") from exc
    if not found:
        raise UsageError(f"--trusted-issuer: {path!r} has no key with a kid")
    return found
