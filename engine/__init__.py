"""clonus.engine: load a KB, compile it to durable_rules, evaluate cases, explain and graph results."""
