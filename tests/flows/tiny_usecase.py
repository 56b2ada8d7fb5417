"""A tiny Q&A use case whose tuned model knows modules' ports but not where offices are.

The documents state both kinds of fact. The training data asks only about ports, three
phrasings per module; the eval set asks about every module's port in a fourth phrasing and
about some offices. So, by the sandbox's mechanics: prompting abstains everywhere; RAG answers
both kinds with a whole sentence (partial token F1); the tuned model answers ports exactly and
abstains on offices; a hybrid that sends office questions to RAG beats the tuned model alone.
The canary set asks about other offices: the tuned model "forgets" them where RAG answers.

`fine_tuned_store` runs the journey once per session through real flow runs and keeps its
SQLite store: `tiny-qa` in fine_tuning, `tiny-canary` (with a canary set) in rag. `start_tiny`
gives a test its own copy of that store, with the settings pointing at it and the sandbox.
"""

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from flows.phase_check import check_phase
from state.configurations import get_configuration
from state.db import store_session
from state.domain import Configuration, UsageCount
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.usage import record_usage_many
from state.use_cases import apply_spec, require_use_case
from tests.flows.journey import LOADED_BUDGET_MS
from tests.plugins.sandbox_server import SandboxServer

TUNED, GUARDED = "tiny-qa", "tiny-canary"
# Two words a module: a phrasing's filler word ("listen") is shared by every module, so one
# name word alone would tie with it and the nearest training question could be another module's.
MODULES = [
    f"{first} {second}"
    for first, second in zip(
        "aurora borealis cascade dynamo ember falcon glacier harbor indigo jasper kestrel "
        "meridian nimbus onyx pioneer quartz raven sierra tundra umbra vertex willow xenon "
        "yarrow zephyr atlas beacon cobalt delta fjord".split(),
        "lynx otter heron badger bison crane dingo egret ferret gecko hyena ibis jackal koala "
        "lemur marten newt ocelot puffin quail robin stoat tapir urchin vole walrus yak zebra "
        "alpaca beaver".split(),
        strict=True,
    )
]
OFFICES = [
    ("Zentrix", "Lisbon"), ("Quorvel", "Oslo"), ("Brindle", "Tallinn"), ("Caskwell", "Porto"),
    ("Dravik", "Krakow"), ("Elmsy", "Ghent"), ("Forbo", "Turin"), ("Galvo", "Lyon"),
    ("Hestro", "Bergen"), ("Ivanta", "Riga"), ("Jorvik", "Vilnius"), ("Kelpa", "Seville"),
    ("Lormo", "Bilbao"), ("Mavren", "Utrecht"), ("Norsk", "Aarhus"), ("Ostra", "Malmo"),
    ("Pellam", "Graz"), ("Quint", "Basel"), ("Rusko", "Brno"), ("Salvi", "Genoa"),
    ("Tormel", "Nantes"), ("Uppo", "Tartu"),
]  # fmt: skip
EVAL_OFFICES, CANARY_OFFICES = OFFICES[:10], OFFICES[10:]
TRAIN_TEMPLATES = (
    "What port does the {m} module listen on?",
    "What port does the {m} module open?",
    "What port does the {m} module expose?",
)
EVAL_TEMPLATE = "What port does the {m} module bind?"
GATE = {"floor": 0.1, "min_paired": 10, "target": 0.9}
DAILY_QUERIES = 300


def item_id(module: str) -> str:
    """The eval item id of a module's port question."""
    return "port-" + module.replace(" ", "-")


def port(module: str) -> str:
    """The port of a module."""
    return str(4000 + 7 * MODULES.index(module))


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def write_use_case(directory: Path, name: str, *, canary: bool) -> Path:
    """Write the use case's documents, data and spec; returns the spec path."""
    (directory / "docs").mkdir(parents=True)
    modules = [f"The {m.title()} module listens on port {port(m)} by default." for m in MODULES]
    offices = [f"The {c} office is located in {city}." for c, city in OFFICES]
    (directory / "docs" / "modules.md").write_text("# Modules\n\n" + "\n\n".join(modules) + "\n")
    (directory / "docs" / "offices.md").write_text("# Offices\n\n" + "\n\n".join(offices) + "\n")
    system = {"role": "system", "content": "You answer questions about our platform."}
    _jsonl(
        directory / "train.jsonl",
        [
            {
                "messages": [
                    system,
                    {"role": "user", "content": "Question: " + t.format(m=m.title())},
                    {"role": "assistant", "content": port(m)},
                ]
            }
            for m in MODULES
            for t in TRAIN_TEMPLATES
        ],
    )
    ports = [
        {"id": item_id(m), "input": EVAL_TEMPLATE.format(m=m.title()), "expected": port(m)}
        for m in MODULES
    ]
    offices_asked = [
        {
            "id": f"office-{c.lower()}",
            "input": f"Where is the {c} office located?",
            "expected": city,
        }
        for c, city in EVAL_OFFICES
    ]
    _jsonl(directory / "eval.jsonl", ports + offices_asked)
    data = {"eval": "eval.jsonl", "documents": "docs", "training": "train.jsonl"}
    if canary:
        _jsonl(
            directory / "canary.jsonl",
            [
                {
                    "id": f"canary-{c.lower()}",
                    "input": f"Where is the {c} office?",
                    "expected": city,
                }
                for c, city in CANARY_OFFICES
            ],
        )
        data["canary"] = "canary.jsonl"
    spec = {
        "name": name,
        "task": "qa",
        "metric": "token_f1",
        "data": data,
        "prompts": [
            {
                "name": "zero-shot",
                "kind": "zero_shot",
                "system": "You answer questions about our platform. Answer briefly.",
                "template": "Question: {input}",
            }
        ],
        "rag": {"top_k": 3, "chunk_size": 400, "chunk_overlap": 40},
        "fine_tuning": {"base_model": "sandbox-base", "suffix": name, "seed": 7},
        "gates": {
            "prompting_to_rag": GATE,
            "rag_to_fine_tuning": GATE | {"min_examples": 50},
        },
        "rollout": {"steps": []},  # the gate flows switch at once; tests/flows/test_rollout.py
        # The flows, not the machine: a loaded test machine slowed the in-process sandbox's p95
        # past 2 s for both configurations alike (paired difference ≈ 0).
        "constraints": {"latency_p95_ms": LOADED_BUDGET_MS},
    }
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def register(store_url: str, root: Path) -> None:
    """Apply both use cases and report 30 days of usage for each."""
    today = datetime.now(UTC).date()
    with store_session(store_url) as session:
        for name, canary in ((TUNED, False), (GUARDED, True)):
            apply_spec(load_spec(write_use_case(root / name, name, canary=canary)), session=session)
            record_usage_many(
                [
                    UsageCount(name, today - timedelta(days=d), DAILY_QUERIES, "app")
                    for d in range(30)
                ],
                session=session,
            )


def copy_store(source: Path, target: Path) -> None:
    """Copy a SQLite store file consistently (the backup API, whatever its WAL holds)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


_BUILT: dict[str, Path] = {}


def fine_tuned_store(sandbox: SandboxServer, root: Path) -> Path:
    """The store after the journey (built once per sandbox): tiny-qa tuned, tiny-canary in RAG."""
    if sandbox.url in _BUILT:
        return _BUILT[sandbox.url]
    data_dir = root / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("PHASEGATE_DATA_DIR", str(data_dir))
        monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox.url)
        monkeypatch.delenv("PHASEGATE_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        register(get_settings().store_url, root / "usecases")
        for name, checks in ((TUNED, 3), (GUARDED, 2)):
            for _ in range(checks):
                outcome = check_phase(name, auto_approve=True)
                assert outcome.decision in ("baselined", "advanced"), outcome.reason
    get_settings.cache_clear()
    _BUILT[sandbox.url] = data_dir / "phasegate.db"
    return _BUILT[sandbox.url]


def start_tiny(
    settings: Settings,
    sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings on a private copy of the journey's store, with the sandbox as provider."""
    template = fine_tuned_store(sandbox, tmp_path_factory.getbasetemp() / "tiny-journey")
    copy_store(template, settings.data_dir / "phasegate.db")
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox.url)
    get_settings.cache_clear()
    return get_settings()


def active_configuration(settings: Settings, name: str = TUNED) -> Configuration:
    """The active configuration of a use case in the store of `settings`."""
    with store_session(settings.store_url) as session:
        use_case = require_use_case(name, session=session)
        return get_configuration(use_case.active_configuration_id, session=session)
