"""Identifier shapes copied from the real service, so clients never rely on a format it does not use.

Interaction ids are `v1_` plus URL-safe base64 without padding; tool-call ids are 8 lowercase
alphanumerics; environments are `env_` plus lowercase alphanumerics. Ids are random (not counters) so an
emulator restarted under a persistent client store never hands out an id that store already knows.
"""

from __future__ import annotations

import base64
import secrets
import string

_ALNUM = string.ascii_lowercase + string.digits


def interaction_id() -> str:
    return "v1_" + base64.urlsafe_b64encode(secrets.token_bytes(36)).decode().rstrip("=")


def call_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(8))


def environment_id() -> str:
    return "env_" + "".join(secrets.choice(_ALNUM) for _ in range(12))


def signature() -> str:
    """An opaque thought/tool signature; clients must send it back unchanged, never interpret it."""
    return base64.b64encode(secrets.token_bytes(24)).decode()
