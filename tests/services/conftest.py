"""The downstream hub fixture, shared from tests/helpers."""

from tests.helpers.downstream import make_hub

__all__ = ["make_hub"]
