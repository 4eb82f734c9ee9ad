"""Everything clonus shows people, for every command: the advice (text, Markdown, JSON), traces,
explanations, lint reports, rule-test runs, KB diffs and summaries. The top floor of the engine: it reads
the results of decide, graph and workbench and renders them; cli/ and service/ only choose and print."""
