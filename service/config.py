"""What `clonus serve` configures: the KB and its profile, the engine, the public base URL (the JWT audience), the
trusted issuers, the feedback log and the body size limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_BODY_BYTES = 1_000_000  # a hook request with its prefetch; larger bodies get 413


@dataclass(frozen=True)
class TrustedIssuer:
    """A JWT issuer (`iss`) and where its public keys are: a JWKS file or an https URL."""

    iss: str
    jwks: str


@dataclass(frozen=True)
class ServiceConfig:
    base_url: str                                  # e.g. https://cds.example.org: aud is base_url + path
    kb_dir: Path | None = None
    profile: str | None = None                     # the KB's jurisdiction profile; None: its default
    engine: str | None = None
    issuers: tuple[TrustedIssuer, ...] = ()
    feedback_log: Path | None = None               # None: feedback is accepted and not recorded
    max_body_bytes: int = MAX_BODY_BYTES
    include_draft: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def verifies_tokens(self) -> bool:
        return bool(self.issuers)
