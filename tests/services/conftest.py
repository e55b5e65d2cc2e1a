"""The downstream hub and tool loop fixtures, shared from tests/helpers."""

from tests.helpers.downstream import make_hub, make_loop

__all__ = ["make_hub", "make_loop"]
