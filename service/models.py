"""The CDS Hooks 2.0 request and response models (specification/current.md): the contract that the
OpenAPI document states and the tests hold the service to. Optional fields left out of the JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Model):
    code: str
    system: str
    display: str | None = None


class Service(_Model):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Model):
    services: list[Service]


class HookRequest(_Model):
    """A hook call. `context` is hook-specific; `prefetch` values are resources, Bundles or null."""

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: dict[str, Any] | None = None
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None
    extension: dict[str, Any] | None = None


class Source(_Model):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Model):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(_Model):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(_Model):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Model):
    uuid: str | None = None
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None


class HookResponse(_Model):
    cards: list[Card]
    systemActions: list[Action] | None = None


class AcceptedSuggestion(_Model):
    id: str


class OverrideReason(_Model):
    reason: Coding | None = None
    userComment: str | None = None


class _FeedbackItem(_Model):
    card: str = Field(min_length=1)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=1)


class AcceptedFeedback(_FeedbackItem):
    """The specification: acceptedSuggestions is required for an accepted outcome."""

    outcome: Literal["accepted"]
    acceptedSuggestions: list[AcceptedSuggestion] = Field(min_length=1)


class OverriddenFeedback(_FeedbackItem):
    outcome: Literal["overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None


Feedback = Annotated[AcceptedFeedback | OverriddenFeedback, Field(discriminator="outcome")]


class FeedbackRequest(_Model):
    feedback: list[Feedback] = Field(max_length=100)


class FeedbackResponse(_Model):
    recorded: int


class Health(_Model):
    status: Literal["ok"]
    kb: dict[str, str]
    engine: dict[str, str]


class Issue(_Model):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    diagnostics: str


class OperationOutcome(_Model):
    """Every error: FHIR's OperationOutcome shape, one issue, never a traceback."""

    resourceType: Literal["OperationOutcome"] = "OperationOutcome"
    issue: list[Issue]
