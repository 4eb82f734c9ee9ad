"""JWT authentication as CDS Hooks asks, with keys the tests generate: a good token passes; a missing,
unsigned, HMAC-signed, expired, future, wrongly addressed, untrusted, unknown-key or replayed token is
401 with nothing said of why; without a trusted issuer only loopback is served."""

from __future__ import annotations

import time

import jwt
import pytest
from typer.testing import CliRunner

from clonus.cli.main import app as cli_app
from clonus.service.app import create_app
from clonus.service.config import ServiceConfig, TrustedIssuer

from servicekit import BASE_URL, Client, hook_request, rsa_key, token, write_jwks

ISS = "https://ehr.example.org"
SERVICE = "/cds-services/clonus-order-select"
AUD = BASE_URL + SERVICE


@pytest.fixture(scope="module")
def keys():
    return rsa_key()


@pytest.fixture(scope="module")
def client(shipped_kb, keys, tmp_path_factory):
    jwks = write_jwks(tmp_path_factory.mktemp("jwks"), keys[1])
    config = ServiceConfig(base_url=BASE_URL, issuers=(TrustedIssuer(ISS, str(jwks)),))
    return Client(create_app(config, kb=shipped_kb))


def call(client, bearer, path=SERVICE):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    if path == SERVICE:
        return client.post(path, json=hook_request("order-select"), headers=headers)
    return client.get(path, headers=headers)


def test_a_good_token_is_accepted(client, keys):
    assert call(client, token(keys[0], AUD)).status_code == 200


def test_discovery_needs_a_token_for_its_own_url(client, keys):
    assert call(client, token(keys[0], BASE_URL + "/cds-services"), "/cds-services").status_code == 200
    assert call(client, token(keys[0], AUD), "/cds-services").status_code == 401


def test_aud_may_be_a_list(client, keys):
    assert call(client, token(keys[0], [AUD])).status_code == 200


def _unsigned(aud):
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": aud, "exp": now + 60, "iat": now, "jti": "n1"}, None, algorithm="none",
                      headers={"kid": "test-key"})


def _hmac(aud):
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": aud, "exp": now + 60, "iat": now, "jti": "h1"}, "s" * 32,
                      algorithm="HS256", headers={"kid": "test-key"})


BAD = {
    "no token": lambda key: None,
    "not bearer": lambda key: "",
    "garbage": lambda key: "not.a.jwt",
    "alg none": lambda key: _unsigned(AUD),
    "alg HS256": lambda key: _hmac(AUD),
    "expired": lambda key: token(key, AUD, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "issued in the future": lambda key: token(key, AUD, iat=int(time.time()) + 3600),
    "no jti": lambda key: token(key, AUD, jti=None),
    "no exp": lambda key: token(key, AUD, exp=None),
    "wrong aud": lambda key: token(key, BASE_URL + "/cds-services/clonus-order-sign"),
    "untrusted iss": lambda key: token(key, AUD, iss="https://evil.example.org"),
    "unknown kid": lambda key: token(key, AUD, kid="other-key"),
    "other alg than the key's": lambda key: token(key, AUD, alg="RS256"),
    "someone else's key": lambda key: token(rsa_key()[0], AUD),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_token_is_401_with_no_detail(client, keys, name):
    response = call(client, BAD[name](keys[0]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["issue"][0]["diagnostics"] == "unauthorized"


def test_a_replayed_token_is_401(client, keys):
    once = token(keys[0], AUD)
    assert call(client, once).status_code == 200
    assert call(client, once).status_code == 401


def test_health_needs_no_token(client):
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org", "::"])
def test_serve_refuses_a_non_loopback_host_without_a_trusted_issuer(host):
    result = CliRunner().invoke(cli_app, ["serve", "--host", host])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "loopback only" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value,why", [("no-equals-sign", "ISS=JWKS"), ("https://ehr=http://keys", "https"),
                                       ("https://ehr=/no/such/jwks.json", "not a readable JWKS")])
def test_serve_refuses_an_unusable_trusted_issuer(value, why):
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--trusted-issuer", value])
    assert result.exit_code == 2 and why in result.stderr and result.stderr.count("\n") == 1
