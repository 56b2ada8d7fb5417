"""The Prefect flows: compose tasks and branch on their results."""

from flows.quiet import install

install()
