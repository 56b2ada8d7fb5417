"""Prefect automations that tell people: a webhook call per approval request and per decision.

`install_notifications(url)` saves a Prefect `Webhook` block that posts to `url` and creates
(or replaces, by name) one automation per event, `phasegate.approval.requested` and
`phasegate.decision.recorded`, whose action calls the block with a JSON body: a `text` line
(what Slack's and Teams' incoming webhooks show), the event's name and id, and its payload.
Triggers need a long-lived Prefect server (`prefect server start`, `phasegate serve`); the
temporary local API evaluates none. docs/notifications.md shows the same thing in the UI.
"""

from uuid import UUID

from prefect.automations import AutomationCore
from prefect.blocks.webhook import Webhook
from prefect.client.orchestration import get_client
from prefect.events.actions import CallWebhook
from prefect.events.schemas.automations import EventTrigger, Posture

from tasks.events import APPROVAL_REQUESTED, DECISION_RECORDED

BLOCK_NAME = "phasegate-notify"
# What each notification says; the payload's own fields follow it in the body.
TEXT = {
    APPROVAL_REQUESTED: (
        '"Phasegate: " ~ event.payload.use_case ~ " waits for a person: " ~ event.payload.move'
        ' ~ " — " ~ (event.payload.url or event.payload.flow_run_id)'
    ),
    DECISION_RECORDED: (
        '"Phasegate: " ~ event.payload.use_case ~ " " ~ event.payload.decision ~ " by "'
        ' ~ event.payload.decided_by ~ ": " ~ event.payload.reason'
    ),
}
NAMES = {
    APPROVAL_REQUESTED: "phasegate: tell people an approval waits",
    DECISION_RECORDED: "phasegate: tell people a decision was recorded",
}


def body_template(event: str) -> str:
    """The Jinja template of the webhook's JSON body for one event (every value `tojson`)."""
    return (
        f'{{"text": {{{{ ({TEXT[event]}) | tojson }}}}, "event": {{{{ event.event | tojson }}}}, '
        '"id": {{ event.id | string | tojson }}, "payload": {{ event.payload | tojson }}}'
    )


def notification_automations(block_document_id: UUID) -> list[AutomationCore]:
    """One automation per event: each matching event calls the webhook block once."""
    return [
        AutomationCore(
            name=NAMES[event],
            description=f"Post {event} to the {BLOCK_NAME} webhook.",
            trigger=EventTrigger(
                expect={event},
                match={"prefect.resource.id": "phasegate.usecase.*"},
                posture=Posture.Reactive,
                threshold=1,
            ),
            actions=[
                CallWebhook(block_document_id=block_document_id, payload=body_template(event))
            ],
        )
        for event in (APPROVAL_REQUESTED, DECISION_RECORDED)
    ]


def install_notifications(url: str, *, block_name: str = BLOCK_NAME) -> list[UUID]:
    """Save the webhook block for `url` and (re)create the two automations; their ids."""
    block = Webhook(method="POST", url=url, headers={"Content-Type": "application/json"})
    block_id = block.save(block_name, overwrite=True)
    created = []
    with get_client(sync_client=True) as client:
        for automation in notification_automations(block_id):
            for existing in client.read_automations_by_name(automation.name):
                client.delete_automation(existing.id)
            created.append(client.create_automation(automation))
    return created
