"""Offline OpenAI-compatible sandbox server used for Phasegate tests and demos."""

from sandbox.app import create_app
from sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
