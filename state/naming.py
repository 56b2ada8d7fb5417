"""How a person names a configuration: the CLI, the progress lines and the HTML report agree."""

from state.domain import Configuration


def configuration_label(config: Configuration, prompt: str | None) -> str:
    """`few-shot`, `few-shot + RAG top-3`, `few-shot · tuned`, `hybrid` — with no prompt, `#id`."""
    if config.routing:
        return "hybrid (tuned model, else RAG)"
    name = prompt or f"#{config.id}"
    if config.retrieval:
        name += f" + RAG top-{config.retrieval.get('top_k')}"
    if config.model_version_id is not None:
        name += f" · tuned {config.model}"
    return name
