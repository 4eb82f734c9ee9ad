"""The FastAPI application: CDS Hooks discovery, the three hooks, feedback, health and the OpenAPI
document. Every error is an OperationOutcome with the status its ClonusError class carries; nothing
of a request (patient data) is logged, and a failure is logged by its type only."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException

from clonus.engine.errors import AuthenticationError, ClonusError, NotFoundError, UsageError
from clonus.engine.knowledge.load import load_kb
from clonus.engine.knowledge.model import Kb

from .auth import Verifier
from .cards import build_cards
from .config import ServiceConfig
from .feedback import FeedbackLog
from .hooks import Answerer
from .limits import BodyLimit
from .models import Discovery, FeedbackRequest, FeedbackResponse, Health, HookRequest, HookResponse, OperationOutcome
from .services import BY_ID, CdsService, discovery

LOG = logging.getLogger("clonus.service")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OperationOutcome, "description": text} for status, text in (
        (400, "The request cannot be used"), (401, "Not authenticated as a trusted client"),
        (404, "No such service"), (412, "The prefetch lacks data the advice needs"),
        (413, "The request body is too large"), (422, "A value in the request is not accepted"),
        (500, "An internal failure; nothing is shown as advice"))
}
_bearer = HTTPBearer(auto_error=False, description="A JWT signed by a trusted CDS client (CDS Hooks 2.0)")


def create_app(config: ServiceConfig, kb: Kb | None = None) -> FastAPI:
    """The service for one KB; the KB's rules are compiled once, here."""
    knowledge = kb if kb is not None else load_kb(config.kb_dir, config.profile)
    if knowledge.fhir is None:
        raise UsageError(f"the KB in {knowledge.root} has no fhir.yaml: the service reads FHIR")
    answerer = Answerer(knowledge, config.engine, config.include_draft)
    verifier = Verifier(config.issuers, config.base_url) if config.verifies_tokens else None
    feedback = FeedbackLog(config.feedback_log)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        answerer.close()

    app = FastAPI(title="clonus CDS Hooks service", version=knowledge.version, lifespan=lifespan,
                  description=f"CDS Hooks 2.0 over the knowledge base {knowledge.name} {knowledge.version} "
                  f"({knowledge.digest}). {knowledge.disclaimer}")
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    _handlers(app)

    def authenticated(request: Request, _token: Annotated[Any, Depends(_bearer)]) -> None:
        assert verifier is not None
        verifier.verify(request.headers.get("authorization"), request.url.path)

    # The OpenAPI document declares Bearer security exactly when tokens are verified.
    auth = [Depends(authenticated)] if verifier is not None else []

    def service_of(service_id: str) -> CdsService:
        service = BY_ID.get(service_id)
        if service is None:
            raise NotFoundError(f"no CDS service {service_id!r}; discovery lists {', '.join(BY_ID)}")
        return service

    @app.get("/cds-services", response_model=Discovery, response_model_exclude_none=True, responses=ERRORS,
             dependencies=auth, summary="CDS Hooks discovery")
    def list_services() -> Discovery:
        return Discovery(services=discovery(knowledge))

    @app.post("/cds-services/{service_id}", response_model=HookResponse, response_model_exclude_none=True,
              responses=ERRORS, dependencies=auth, summary="Call a CDS service")
    def call_service(service_id: str, body: HookRequest) -> HookResponse:
        service = service_of(service_id)
        answer = answerer.answer(service, body)
        return HookResponse(cards=build_cards(knowledge, service.id, body.hookInstance, answer))

    @app.post("/cds-services/{service_id}/feedback", response_model=FeedbackResponse, responses=ERRORS,
              dependencies=auth, summary="Feedback on cards")
    def give_feedback(service_id: str, body: FeedbackRequest) -> FeedbackResponse:
        service = service_of(service_id)
        return FeedbackResponse(recorded=feedback.record(service.id, body))

    @app.get("/health", response_model=Health, responses=ERRORS, summary="Whether the service answers")
    def health() -> Health:
        return Health(status="ok", kb={"name": knowledge.name, "version": knowledge.version,
                                       "digest": knowledge.digest, "profile": knowledge.profile.name},
                      engine=dict(answerer.advisor.engine_name))

    return app


def _outcome(status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code,
                                                           "diagnostics": diagnostics}]}
    return JSONResponse(body, status_code=status, headers=headers)


_CODES = {400: "invalid", 401: "login", 404: "not-found", 412: "incomplete", 413: "too-long", 422: "invalid",
          500: "exception"}


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ClonusError)
    async def clonus_error(_: Request, exc: ClonusError) -> JSONResponse:
        status = exc.http_status
        if status >= 500:
            LOG.error("request failed: %s", type(exc).__name__)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        text = str(exc) if status < 500 else f"{type(exc).__name__}: no advice is given"
        return _outcome(status, _CODES.get(status, "processing"), text, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
        more = f" ({len(errors) - 1} more)" if len(errors) > 1 else ""
        return _outcome(422, "invalid", f"{where}: {first.get('msg')}{more}")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None  # 405 keeps its Allow header
        return _outcome(exc.status_code, _CODES.get(exc.status_code, "processing"), str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def failure(_: Request, exc: Exception) -> JSONResponse:
        LOG.error("internal error: %s", type(exc).__name__)
        return _outcome(500, "exception", "internal error: no advice is given")
