"""Start the service: check the options (loopback only without a trusted issuer), build the app for the
KB and run it on uvicorn. `clonus serve` (cli/serve.py) calls `serve()`, found by name: the two faces
share a floor and never import each other."""

from __future__ import annotations

import sys
from pathlib import Path

from clonus.engine.errors import UsageError

from .config import ServiceConfig, TrustedIssuer


def serve(host: str, port: int, kb_dir: Path | None = None, profile: str | None = None, engine: str | None = None,
          include_draft: bool = False, base_url: str | None = None, trusted_issuers: tuple[str, ...] = (),
          feedback_log: Path | None = None, max_body: int = 1_000_000) -> None:
    issuers = tuple(issuer_of(text) for text in trusted_issuers)
    if not issuers and not is_loopback(host):
        raise UsageError(f"--host {host}: without --trusted-issuer the service listens on loopback only "
                         "(127.0.0.1, ::1, localhost), since nothing would authenticate its callers")
    config = ServiceConfig(base_url=base_url or f"http://{host}:{port}", kb_dir=kb_dir, profile=profile, engine=engine,
                           issuers=issuers, feedback_log=feedback_log, max_body_bytes=max_body,
                           include_draft=include_draft)
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise UsageError(f"the service needs the optional extra: pip install 'clonus[service]' ({exc})") from exc
    app = create_app(config)
    print(f"clonus: serving CDS Hooks at {config.base_url}/cds-services "
          f"({'tokens verified' if issuers else 'no authentication: loopback only'})", file=sys.stderr, flush=True)
    # access_log off: a request line names the service only, but nothing of a call is logged at all
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def issuer_of(text: str) -> TrustedIssuer:
    """--trusted-issuer ISS=JWKS_FILE_OR_URL; a JWKS URL must be https."""
    iss, sep, jwks = text.partition("=")
    if not sep or not iss or not jwks:
        raise UsageError(f"--trusted-issuer: {text!r} is not accepted; expected ISS=JWKS_FILE_OR_URL")
    if jwks.startswith("http://"):
        raise UsageError(f"--trusted-issuer: {jwks!r}: a JWKS URL must be https")
    return TrustedIssuer(iss, jwks)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
