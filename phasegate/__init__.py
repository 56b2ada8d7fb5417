"""Phasegate's front door: the CLI, the webhook API and the demo."""
