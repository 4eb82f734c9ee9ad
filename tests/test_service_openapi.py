"""The service against its own OpenAPI document: served, and held to it by schemathesis (property-based,
in process over ASGI, bounded examples): no server error, every status and body as documented."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from clonus.service.app import create_app
from clonus.service.config import ServiceConfig

from servicekit import BASE_URL, Client

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is part of the test extra")

APP = create_app(ServiceConfig(base_url=BASE_URL))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


def test_openapi_is_served_with_every_path():
    document = Client(APP).get("/openapi.json").json()
    assert set(document["paths"]) == {"/cds-services", "/cds-services/{service_id}",
                                      "/cds-services/{service_id}/feedback", "/health"}
    hook = document["paths"]["/cds-services/{service_id}"]["post"]
    assert {"200", "401", "404", "412", "413", "422"} <= set(hook["responses"])


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_openapi_document(case):
    case.call_and_validate()


def _verifying_app():
    """The service with a trusted issuer; its JWKS file is read when the app is made, then removed."""
    import tempfile
    from pathlib import Path

    from clonus.service.config import TrustedIssuer

    from servicekit import rsa_key, write_jwks

    with tempfile.TemporaryDirectory(prefix="clonus-jwks-") as tmp:
        issuer = TrustedIssuer("https://ehr.example.org", str(write_jwks(Path(tmp), rsa_key()[1])))
        return create_app(ServiceConfig(base_url=BASE_URL, issuers=(issuer,)))


VERIFYING = _verifying_app()
SECURED = schemathesis.openapi.from_asgi("/openapi.json", VERIFYING)


def test_the_verifying_service_declares_bearer_security():
    document = Client(VERIFYING).get("/openapi.json").json()
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    assert document["paths"]["/cds-services"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in Client(APP).get("/openapi.json").json()["paths"]["/cds-services"]["get"]


@SECURED.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_verifying_api_keeps_its_openapi_document(case):
    """Without a token the test could sign, every call to /cds-services is 401, as documented."""
    case.call_and_validate()
