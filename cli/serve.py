"""`clonus serve`: the CDS Hooks service on uvicorn. Without a trusted issuer it listens on loopback
only, since nothing then authenticates its callers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir

Host = Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless --trusted-issuer).")]
Port = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")]
BaseUrl = Annotated[str | None, typer.Option(
    "--base-url", metavar="URL", show_default=False,
    help="The URL clients call (the JWT audience is this plus the path); default http://HOST:PORT.")]
Issuers = Annotated[list[str] | None, typer.Option(
    "--trusted-issuer", metavar="ISS=JWKS", show_default=False,
    help="A trusted JWT issuer and its JWKS (a file, or an https URL); repeatable. With one, every call "
    "needs a valid Bearer token.")]
FeedbackLogOpt = Annotated[Path | None, typer.Option(
    "--feedback-log", metavar="FILE", show_default=False,
    help="Append card feedback here (JSON Lines, no patient data); default: not recorded.")]
MaxBody = Annotated[int, typer.Option("--max-body", min=1024, help="Largest request body accepted, in bytes.")]


def serve(host: Host = "127.0.0.1", port: Port = 8080, kb: KbDir = None, engine: EngineName = None,
          include_draft: IncludeDraft = False, base_url: BaseUrl = None, trusted_issuer: Issuers = None,
          feedback_log: FeedbackLogOpt = None, max_body: MaxBody = 1_000_000) -> None:
    """Serve CDS Hooks 2.0: discovery at /cds-services, order-select, order-sign and patient-view, feedback,
    /health and the OpenAPI document at /openapi.json.

    Exit codes: 0 stopped, 2 unusable options (a non-loopback host without --trusted-issuer, a JWKS that
    cannot be read, a KB that cannot be loaded).
    """
    from clonus.engine.errors import UsageError
    from clonus.service.config import ServiceConfig

    issuers = tuple(_issuer(text) for text in trusted_issuer or ())
    if not issuers and not _loopback(host):
        raise UsageError(f"--host {host}: without --trusted-issuer the service listens on loopback only "
                         "(127.0.0.1, ::1, localhost), since nothing would authenticate its callers")
    config = ServiceConfig(base_url=base_url or f"http://{host}:{port}", kb_dir=kb, engine=engine, issuers=issuers,
                           feedback_log=feedback_log, max_body_bytes=max_body, include_draft=include_draft)
    import uvicorn

    from clonus.service.app import create_app

    app = create_app(config)
    typer.echo(f"clonus: serving CDS Hooks at {config.base_url}/cds-services "
               f"({'tokens verified' if issuers else 'no authentication: loopback only'})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _issuer(text: str):
    from clonus.engine.errors import UsageError
    from clonus.service.config import TrustedIssuer

    iss, sep, jwks = text.partition("=")
    if not sep or not iss or not jwks:
        raise UsageError(f"--trusted-issuer: {text!r} is not accepted; expected ISS=JWKS_FILE_OR_URL")
    if jwks.startswith("http://"):
        raise UsageError(f"--trusted-issuer: {jwks!r}: a JWKS URL must be https")
    return TrustedIssuer(iss, jwks)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
