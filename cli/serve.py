"""`clonus serve`: the CDS Hooks service on uvicorn. Without a trusted issuer it listens on loopback
only, since nothing then authenticates its callers. The service is the other face: it is found by name
(as decide finds backends), since two wings on one floor never import each other."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from .options import EngineName, IncludeDraft, KbDir, ProfileName

SERVICE = "clonus.service.main"  # its serve() starts the service

Host = Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless --trusted-issuer).")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
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


def serve(host: Host = "127.0.0.1", port: Port = 8080, kb: KbDir = None, profile: ProfileName = None,
          engine: EngineName = None, include_draft: IncludeDraft = False, base_url: BaseUrl = None,
          trusted_issuer: Issuers = None, feedback_log: FeedbackLogOpt = None, max_body: MaxBody = 1_000_000) -> None:
    """Serve CDS Hooks 2.0: discovery at /cds-services, order-select, order-sign and patient-view, feedback,
    /health and the OpenAPI document at /openapi.json. Every answer is the KB bound to --profile, evaluated
    on --engine, and names both, as `clonus advise` does.

    Exit codes: 0 stopped, 2 unusable options (a non-loopback host without --trusted-issuer, a JWKS that
    cannot be read, a KB that cannot be loaded).
    """
    service = importlib.import_module(SERVICE)
    service.serve(host=host, port=port, kb_dir=kb, profile=profile, engine=engine, include_draft=include_draft,
                  base_url=base_url, trusted_issuers=tuple(trusted_issuer or ()), feedback_log=feedback_log,
                  max_body=max_body)
