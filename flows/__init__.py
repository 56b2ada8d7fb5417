"""The Prefect flows: compose tasks and branch on their results.

A module here without `@flow` holds a flow's steps: plain functions a flow calls in order
(`entry`, `recording`, `latency`, `migration`, `pilot`, `checkpoints`, `idle`, `scoring`), or
what every flow shares (`context`, `results`, `labels`, `quiet`). They live here, not in
`tasks/`, because they compose tasks and branch on their results, which a task may not do.
"""

from flows.quiet import install

install()
