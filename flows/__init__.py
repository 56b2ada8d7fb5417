"""The Prefect flows: compose tasks and branch on their results."""
