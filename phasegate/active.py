"""The active configuration as applications read it, with the prompt text and tuned model."""

from phasegate.webhook_models import ActiveConfiguration, ActivePrompt, ActiveTunedModel
from state.active import ActiveParts


def active_configuration(parts: ActiveParts) -> ActiveConfiguration:
    """The `GET .../active` body of a use case's active parts."""
    prompt = tuned = None
    if parts.prompt is not None:
        prompt = ActivePrompt(
            label=parts.prompt.label,
            content_hash=parts.prompt.content_hash,
            **parts.prompt.variant.model_dump(include={"kind", "system", "template", "k"}),
        )
    if parts.tuned_model is not None:
        fields = {"model_id", "base_model", "training_file_hash", "job_id"}
        tuned = ActiveTunedModel(**parts.tuned_model.model_dump(include=fields))
    configuration = parts.configuration
    return ActiveConfiguration(
        use_case=parts.use_case.name,
        phase=parts.use_case.active_phase,
        configuration=configuration.model_dump(mode="json") if configuration else None,
        prompt=prompt,
        tuned_model=tuned,
        version=parts.use_case.version,
    )
