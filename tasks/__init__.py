"""The Prefect tasks: units of work with explicit parameters.

A module here without `@task` is one such unit's pure part, which flows and tasks call
directly: the gate checks (`gates/`), statistics, metrics, prompts, chunking, the provider
client (`llm`). They read no environment and call no other layer above `state/`.
"""
