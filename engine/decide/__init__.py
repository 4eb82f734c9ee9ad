"""From facts to an answer: the engine-neutral evaluation plan, the backend protocol, the Advisor, the
dose plan, the safety invariants and the Result."""
