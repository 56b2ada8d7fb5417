"""The Prefect tasks: units of work with explicit parameters."""
