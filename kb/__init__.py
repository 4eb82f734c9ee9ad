"""clonus.kb: the shipped knowledge base (YAML data only; nothing here is executed)."""
