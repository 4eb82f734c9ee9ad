"""The CDS Hooks service in process: discovery, the three hooks, every card field against the
specification (cds-hooks/docs, specification/current.md), 412, 404, 413, feedback and health."""

from __future__ import annotations

import json
import re

import pytest

from clonus.service.app import create_app
from clonus.service.config import ServiceConfig

from conftest import engine_params
from servicekit import BASE_URL, Client, hook_request

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CARD_FIELDS = {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior",
               "overrideReasons", "links", "extension"}


@pytest.fixture(scope="module")
def feedback_log(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback") / "feedback.jsonl"


@pytest.fixture(scope="module")
def client(shipped_kb, feedback_log):
    return Client(create_app(ServiceConfig(base_url=BASE_URL, feedback_log=feedback_log), kb=shipped_kb))


def call(client, service, request):
    return client.post(f"/cds-services/{service}", json=request)


def codes(response):
    return [card["extension"]["clonus"]["code"] for card in response.json()["cards"] if "code" in
            card["extension"]["clonus"]]


def test_discovery_lists_the_three_hooks_with_their_prefetch(client, shipped_kb):
    services = client.get("/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign", "patient-view"}
    for service in services:
        assert {"hook", "description", "id"} <= set(service)
        assert set(service["prefetch"]) == {"patient", "medications", "statements", "conditions", "egfr"}
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        loinc = {code for system, code in shipped_kb.fhir.observations[0].codes}
        assert all(f"http://loinc.org|{code}" in service["prefetch"]["egfr"] for code in loinc)


@pytest.mark.parametrize("service,example", [("clonus-order-select", "order-select"),
                                             ("clonus-order-sign", "order-sign"),
                                             ("clonus-patient-view", "patient-view")])
def test_every_hook_gives_the_reference_advice_as_cards(client, advisor, service, example):
    from conftest import reference_case

    response = call(client, service, hook_request(example))
    assert response.status_code == 200
    expected = list(advisor.advise(reference_case()).codes())
    assert codes(response) == expected


# (advice text, title) -> the card's summary
SUMMARIES = {
    ("Reassess tone, spasms, pain, sedation, weakness and dizziness within 24 h of each dose change, increase or "
     "reduction (reference article; no label source).", "Reassess"):
    "Reassess tone, spasms, pain, sedation, weakness and dizziness within 24 h of each dose change, increase or "
    "reduction.",
    ("A first sentence that is short. " + "x" * 150 + " (an aside; with a clause)", "Title"):
    "A first sentence that is short.",
    ("y" * 150, "A title"): "A title",
}


@pytest.mark.parametrize("text,title", list(SUMMARIES))
def test_regression_a_summary_is_never_cut_inside_parentheses(text, title):
    """Regression: a summary cut at the ';' inside '(reference article; no label source)' left a '(' open."""
    from types import SimpleNamespace

    from clonus.engine.explain.cards import summary

    assert summary(SimpleNamespace(text=text, title=title)) == SUMMARIES[(text, title)]


@pytest.mark.parametrize("example", ["order-select", "order-sign", "patient-view"])
def test_every_card_field_keeps_the_specification(client, shipped_kb, example):
    service = f"clonus-{example}"
    cards = call(client, service, hook_request(example)).json()["cards"]
    assert cards
    reasons = shipped_kb.fhir.override[1]
    for card in cards:
        assert set(card) <= CARD_FIELDS
        assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
        assert card["summary"].count("(") == card["summary"].count(")"), card["summary"]
        assert card["indicator"] in ("info", "warning", "critical")
        assert UUID_RE.match(card["uuid"])
        source = card["source"]
        assert shipped_kb.name in source["label"] and shipped_kb.version in source["label"]
        assert shipped_kb.digest[:19] in source["label"]
        assert source["url"].startswith("https://")
        assert card["extension"]["clonus"].get("kb", {"digest": shipped_kb.digest})["digest"] == shipped_kb.digest
        assert isinstance(card["detail"], str) and "**Sources**" in card["detail"]
        if "suggestions" in card:
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in card["suggestions"]:
                assert suggestion["label"] and UUID_RE.match(suggestion["uuid"])
                for action in suggestion["actions"]:
                    assert action["type"] in ("create", "update", "delete") and action["description"]
        for reason in card.get("overrideReasons", ()):
            assert {"code", "system", "display"} <= set(reason) and reasons[reason["code"]] == reason["display"]
    assert len({card["uuid"] for card in cards}) == len(cards)


def test_the_dose_plan_is_a_suggested_update_of_the_draft_order(client, advisor):
    from conftest import reference_case

    plan = advisor.advise(reference_case()).dose_plan
    request = hook_request("order-select")
    cards = call(client, "clonus-order-select", request).json()["cards"]
    with_suggestions = [c for c in cards if "suggestions" in c]
    assert len(with_suggestions) == 1
    card = with_suggestions[0]
    assert card["extension"]["clonus"]["code"] == "increase_baclofen"
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "update"
    order = action["resource"]
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    assert order["id"] == draft["id"] and order["resourceType"] == "MedicationRequest"
    dosage = order["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": plan.regimen_doses_mg[0], "unit": "mg",
                                                         "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dosage["timing"]["repeat"] == {"frequency": plan.doses_per_day, "period": 1, "periodUnit": "d"}
    assert dosage["text"] == plan.regimen


def test_patient_view_has_no_suggestion_since_no_order_is_being_written(client):
    cards = call(client, "clonus-patient-view", hook_request("patient-view")).json()["cards"]
    assert not any("suggestions" in card for card in cards)


def test_the_same_request_gives_the_same_bytes_and_another_instance_other_uuids(client):
    request = hook_request("order-select")
    first, second = call(client, "clonus-order-select", request), call(client, "clonus-order-select", request)
    assert first.content == second.content
    request["hookInstance"] = "00000000-0000-4000-8000-000000000000"
    third = call(client, "clonus-order-select", request).json()["cards"]
    assert not {c["uuid"] for c in third} & {c["uuid"] for c in first.json()["cards"]}


def test_an_order_for_another_drug_gets_no_card(client):
    request = hook_request("order-select")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "161", "display": "acetaminophen"}],
                                          "text": "acetaminophen 500 mg oral tablet"}
    assert call(client, "clonus-order-select", request).json() == {"cards": []}


def test_an_unselected_baclofen_draft_gets_no_card(client):
    request = hook_request("order-select")
    request["context"]["selections"] = ["MedicationRequest/something-else"]
    assert call(client, "clonus-order-select", request).json() == {"cards": []}


def test_without_relief_the_cards_ask_for_it(client):
    request = hook_request("order-select")
    del request["extension"]["clonus"]["response"]
    cards = call(client, "clonus-order-select", request).json()["cards"]
    assert "request_missing_data" in [c["extension"]["clonus"].get("code") for c in cards]
    assert not any("suggestions" in c for c in cards)


def test_two_active_baclofen_orders_are_not_chosen_between(client):
    request = hook_request("patient-view")
    bundle = request["prefetch"]["medications"]
    second = json.loads(json.dumps(bundle["entry"][0]["resource"]))
    second["id"] = "medrx-baclofen-2"
    second["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 10
    bundle["entry"].append({"resource": second})
    cards = call(client, "clonus-patient-view", request).json()["cards"]
    found = [c["extension"]["clonus"].get("code") for c in cards]
    assert "request_missing_data" in found and "increase_baclofen" not in found
    notes = [c for c in cards if "provenance" in c["extension"]["clonus"]]
    assert notes and "2 active baclofen orders" in notes[0]["detail"]


@pytest.mark.parametrize("key", ["patient", "medications", "statements", "conditions", "egfr"])
def test_a_missing_prefetch_key_is_412(client, key):
    request = hook_request("order-select")
    del request["prefetch"][key]
    response = call(client, "clonus-order-select", request)
    assert response.status_code == 412
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and key in body["issue"][0]["diagnostics"]


def test_a_null_prefetch_key_means_no_data_not_412(client):
    request = hook_request("order-select")
    request["prefetch"]["egfr"] = None
    assert call(client, "clonus-order-select", request).status_code == 200


@pytest.mark.parametrize("mutate,status,where", [
    (lambda r: r["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0].update(
        doseAndRate={"doseQuantity": {"value": 15, "unit": "mg"}}), 422,
     "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate"),
    (lambda r: r["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]
     .update(doseQuantity={"value": 15}), 422, "doseAndRate[0].doseQuantity"),
    (lambda r: r.update(hook="patient-view"), 400, "hook"),
    (lambda r: r["context"].pop("draftOrders"), 422, "context.draftOrders"),
    (lambda r: r.pop("hookInstance"), 422, "hookInstance"),
])
def test_unusable_requests_are_operation_outcomes_naming_the_element(client, mutate, status, where):
    request = hook_request("order-select")
    mutate(request)
    response = call(client, "clonus-order-select", request)
    assert response.status_code == status
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and where in body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.text


def test_an_unknown_service_is_404(client):
    response = call(client, "no-such-service", hook_request("order-select"))
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


def test_a_body_over_the_limit_is_413(shipped_kb):
    small = Client(create_app(ServiceConfig(base_url=BASE_URL, max_body_bytes=2048), kb=shipped_kb))
    response = small.post("/cds-services/clonus-order-select", json=hook_request("order-select"))
    assert response.status_code == 413 and response.json()["resourceType"] == "OperationOutcome"


def test_feedback_is_appended_without_patient_data(client, feedback_log):
    cards = call(client, "clonus-order-select", hook_request("order-select")).json()["cards"]
    suggested = next(c for c in cards if "suggestions" in c)
    accepted = {"card": suggested["uuid"], "outcome": "accepted", "outcomeTimestamp": "2025-06-01T10:05:31Z",
                "acceptedSuggestions": [{"id": suggested["suggestions"][0]["uuid"]}]}
    overridden = hook_request("feedback")["feedback"][0]
    for item in (accepted, overridden):
        response = client.post("/cds-services/clonus-order-select/feedback", json={"feedback": [item]})
        assert response.status_code == 200 and response.json() == {"recorded": 1}
    lines = [json.loads(line) for line in feedback_log.read_text(encoding="utf-8").splitlines()]
    assert [line["outcome"] for line in lines[-2:]] == ["accepted", "overridden"]
    assert lines[-2]["acceptedSuggestions"] == [suggested["suggestions"][0]["uuid"]]
    assert lines[-1]["overrideReason"] == {"system": "urn:clonus:override-reason", "code": "clinical-judgment"}
    text = feedback_log.read_text(encoding="utf-8")
    assert "never recorded" not in text and "pat-ref" not in text and "1980" not in text


def test_feedback_of_an_unknown_outcome_is_refused(client):
    response = client.post("/cds-services/clonus-order-select/feedback",
                           json={"feedback": [{"card": "x", "outcome": "maybe", "outcomeTimestamp": "now"}]})
    assert response.status_code == 422 and response.json()["resourceType"] == "OperationOutcome"


def test_health_names_the_kb_and_engine(client, shipped_kb):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["kb"]["digest"] == shipped_kb.digest and body["engine"]["name"]


def test_accepted_feedback_must_name_its_suggestions(client):
    item = {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2025-06-01T10:05:31Z"}
    response = client.post("/cds-services/clonus-order-select/feedback", json={"feedback": [item]})
    assert response.status_code == 422 and "acceptedSuggestions" in response.json()["issue"][0]["diagnostics"]


def test_no_patient_data_reaches_the_logs(client, caplog):
    """Refused and answered calls alike: nothing of the request (ids, birth date, codes) is logged."""
    import logging

    caplog.set_level(logging.DEBUG)
    good = hook_request("order-select")
    bad = hook_request("order-select")
    bad["prefetch"]["patient"]["birthDate"] = "1980-13-01"
    for request in (good, bad):
        call(client, "clonus-order-select", request)
    text = caplog.text
    assert "pat-ref" not in text and "1980" not in text and "medrx-baclofen" not in text


@pytest.mark.parametrize("engine", engine_params())
def test_the_service_answers_on_the_engine_and_profile_it_was_given(engine):
    """`clonus serve --profile uk --engine NAME`: the cards are the UK KB's, evaluated on that engine, and
    say both, as `clonus advise` records them; /health names the profile."""
    from clonus.engine.knowledge.load import load_kb

    uk = load_kb(profile="uk")
    client = Client(create_app(ServiceConfig(base_url=BASE_URL, profile="uk", engine=engine), kb=uk))
    cards = call(client, "clonus-order-select", hook_request("order-select")).json()["cards"]
    assert all(c["extension"]["clonus"]["kb"]["profile"] == "uk" for c in cards if "kb" in c["extension"]["clonus"])
    assert {c["extension"]["clonus"]["kb"]["engine"]["name"] for c in cards if "code" in c["extension"]["clonus"]} \
        == {engine}
    assert all("profile uk" in c["source"]["label"] for c in cards)
    assert any("100 mg/day" in c["summary"] for c in cards)  # the BNF ceiling, not the US 80 mg/day
    assert not any("80 mg/day" in c["summary"] for c in cards)
    assert client.get("/health").json()["kb"]["profile"] == "uk"
