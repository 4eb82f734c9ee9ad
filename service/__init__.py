"""The CDS Hooks 2.0 service: the second face of clonus beside cli/, over the same Advisor.

    app        the FastAPI application: discovery, the hooks, feedback, health; errors as OperationOutcome
    models     the request and response models (pydantic): the contract the OpenAPI document states
    services   the CDS services offered (order-select, order-sign, patient-view) and their prefetch
    hooks      a hook request to a case (through the FHIR intake) and to the Advisor's Result
    cards      a Result to cards: summary, indicator, source, detail, suggestions, override reasons
    auth       Bearer JWT verification against trusted issuers (JWKS); replayed jti refused
    feedback   the append-only feedback log (JSON Lines, no patient data)
    limits     the request body size limit (ASGI middleware)
    config     what `clonus serve` configures

FastAPI, uvicorn and PyJWT are the optional extra `clonus[service]`; nothing else imports them.
"""
