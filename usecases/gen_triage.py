"""Data tables and builders for the ``feedback-triage`` use case.

A message is built from three phrase banks plus optional noise:

* an opener that carries the sentiment (and embeds a topic phrase that carries the area),
* a closer that carries the urgency,
* a greeting or sign-off that carries nothing.

Each component's phrases reuse a small vocabulary (e.g. every billing topic mentions
"billing", "invoice", "charge", "subscription" or "refund"), so messages with the same label
share many words while messages with different labels share few.
"""

from __future__ import annotations

import random

SLUG = "feedback-triage"
SEED = 20240612
SYSTEM = "Classify customer feedback."
EVAL_PER_LABEL = 3
TRAIN_PER_LABEL = 15

SENTIMENTS = ("positive", "neutral", "negative")
AREAS = ("billing", "sync", "mobile", "search", "sharing", "editor")
URGENCIES = ("low", "medium", "high")
LABELS = [f"{s}/{a}/{u}" for s in SENTIMENTS for a in AREAS for u in URGENCIES]

# Every phrase of a bank repeats the bank's core words (e.g. "love", "great", "happy") and
# adds one or two of its own, so the label decides most of a message's vocabulary.
# Openers by sentiment; {t} is replaced by an area topic.
OPENERS = {
    "positive": [
        "I love {t}, great work, very happy.",
        "Great job on {t}, I love it and I am happy.",
        "So happy with {t}, I love it, great stuff.",
        "Love {t}, a great update and I am happy.",
    ],
    "neutral": [
        "FYI, I noticed something about {t} and was wondering.",
        "I was wondering about {t}, I noticed a detail, fyi.",
        "I noticed {t} and was wondering, fyi, an observation.",
        "Wondering about {t}; I noticed a change, fyi.",
    ],
    "negative": [
        "I am frustrated, {t} is broken and terrible.",
        "{t} is broken and terrible, so frustrated.",
        "Terrible: {t} is broken again and I am frustrated.",
        "Frustrated that {t} is broken, a terrible experience.",
    ],
}

TOPICS = {
    "billing": [
        "the billing charge on my invoice",
        "the invoice and billing for my subscription",
        "the billing refund on the invoice",
        "the invoice billing of my card",
    ],
    "sync": [
        "sync of files across my devices",
        "sync between devices and my laptop",
        "the sync folder on my devices",
        "desktop sync with other devices",
    ],
    "mobile": [
        "the mobile app on my phone",
        "the android mobile app",
        "the mobile app on my iphone",
        "the mobile app on my tablet",
    ],
    "search": [
        "search results for a query",
        "search filter results",
        "search results from the index",
        "keyword search results",
    ],
    "sharing": [
        "sharing a link with collaborators",
        "sharing link permissions",
        "the invite link for sharing",
        "sharing a link with my team",
    ],
    "editor": [
        "formatting in the editor",
        "the editor toolbar formatting",
        "typing and formatting in the editor",
        "editor formatting of tables",
    ],
}

CLOSERS = {
    "high": [
        "This is urgent, please fix it today.",
        "Urgent, it is blocking me today.",
        "Urgent: I need help today.",
        "Today please, it is urgent and critical.",
    ],
    "medium": [
        "Please look at it soon, this week.",
        "Sometime soon this week would be good.",
        "Soon please, within the week.",
        "This week or soon after is fine.",
    ],
    "low": [
        "No rush, just a minor thing.",
        "Minor issue, no rush, whenever you can.",
        "A minor point, no rush at all.",
        "No rush, a minor request for someday.",
    ],
}

NOISE = ["", "Hi.", "Hello.", "Hey.", "Cheers.", "Regards.", "Best.", "Morning.", "Greetings."]


def message(rng: random.Random, label: str) -> str:
    """One feedback message whose wording signals ``label``."""
    sentiment, area, urgency = label.split("/")
    opener = rng.choice(OPENERS[sentiment]).format(t=rng.choice(TOPICS[area]))
    parts = [opener[0].upper() + opener[1:], rng.choice(CLOSERS[urgency])]
    noise = rng.choice(NOISE)
    if noise:
        parts.insert(0 if rng.random() < 0.5 else len(parts), noise)
    return " ".join(parts)


def chat(system: str, user: str, assistant: str) -> dict:
    """One fine-tuning example in OpenAI chat format."""
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


def sample(rng: random.Random, per_label: int, seen: set[str]) -> list[tuple[str, str]]:
    """``per_label`` new (message, label) pairs for every label, none already in ``seen``."""
    out = []
    for label in LABELS:
        for _ in range(per_label):
            text = message(rng, label)
            while text.lower() in seen:
                text = message(rng, label)
            seen.add(text.lower())
            out.append((text, label))
    rng.shuffle(out)
    return out


def build() -> dict[str, str | list[dict]]:
    """Return {path relative to usecases/: text or JSONL rows} for every feedback-triage file."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    eval_pairs = sample(rng, EVAL_PER_LABEL, seen)
    train_pairs = sample(rng, TRAIN_PER_LABEL, seen)
    eval_rows = [
        {"id": f"fb-{i:03d}", "input": text, "expected": label}
        for i, (text, label) in enumerate(eval_pairs, start=1)
    ]
    train = [chat(SYSTEM, f"Input: {text}", label) for text, label in train_pairs]
    return {
        f"{SLUG}/eval.jsonl": eval_rows,
        f"{SLUG}/train.jsonl": train,
        f"{SLUG}/spec.yaml": spec(),
    }


def spec() -> str:
    """spec.yaml text; the systems list every composite label on one ``Labels:`` line."""
    return _spec_task() + _spec_gates()


def _spec_task() -> str:
    """The spec's task half: name, metrics, data and the prompt variants."""
    labels = "Labels: " + ", ".join(LABELS)
    task = "Label the customer feedback message as sentiment/area/urgency."
    return f"""\
# yaml-language-server: $schema=../../docs/spec.schema.json
# Generated by usecases/generate.py (edit spec() in usecases/gen_triage.py).
name: feedback-triage
description: Triage customer feedback by sentiment, product area and urgency.
task: classification
metrics:
  primary: accuracy
  guardrails:
    - metric: json_valid
      margin: 0.02
answers:
  pattern: '"label"\\s*:\\s*"(?P<answer>[^"]+)"'
data:
  eval: eval.jsonl
  training: train.jsonl
prompts:
  - name: zero-shot
    kind: zero_shot
    system: |-
      {task} Reply with a JSON object {{"label": "<label>"}} only.
      {labels}
    template: "Input: {{input}}"
  - name: few-shot
    kind: few_shot
    system: |-
      {task} Reply with a JSON object {{"label": "<label>"}} only.
      {labels}
    template: "Input: {{input}}"
    k: 8
  - name: chain-of-thought
    kind: chain_of_thought
    system: |-
      {task} Think step by step, then give the final answer on a line starting with 'Answer:' \
as a JSON object {{"label": "<label>"}}.
      {labels}
    template: "Input: {{input}}"
"""


def _spec_gates() -> str:
    """The spec's tuning half: fine-tuning, gates and constraints."""
    return """\
fine_tuning:
  base_model: sandbox-base
  suffix: feedback-triage
  n_epochs: 3
  batch_size: 8
  learning_rate_multiplier: 1.0
  seed: 7
gates:
  prompting_to_rag:
    target: 0.85
    floor: 0.3
    require_approval: false
  rag_to_fine_tuning:
    target: 0.85
    floor: 0.3
    require_approval: true
constraints:
  external_api: true
  latency_p95_ms: 2000
approval:
  timeout_seconds: 3600
# The whole journey switches at once; docs/rollouts.md shows live traffic in steps.
rollout:
  steps: []
"""
