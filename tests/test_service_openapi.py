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
