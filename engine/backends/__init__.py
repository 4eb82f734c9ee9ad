"""Rule-engine backends: the only code that imports a rule engine. Each sub-package exposes BACKEND, an
object of the protocol in clonus.engine.decide.backend, found there by name."""
