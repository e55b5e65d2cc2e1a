"""Custom agent ids per principal: each HTTP caller has its own namespace upstream.

Agent ids are global per API key upstream, so two callers of one server share one id space. Each HTTP
principal's agents live upstream under a prefix derived from the principal (`code-reviewer` of alice is
`u3f2a9c41d07b-code-reviewer` upstream); callers only ever see and type their own names. Someone else's
agent is therefore not just hidden but unreachable: bob's `code-reviewer` is a different upstream id,
free for him to create, and asking for alice's gets the same "unknown" as any name bob never made.

The local principal (stdio, unauthenticated loopback) owns the key: it keeps plain ids and sees every
agent of the key, the namespaced ones under their upstream ids.
"""

from __future__ import annotations

import hashlib
import re

from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL

UPSTREAM_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")  # the upstream rule for agent ids
UPSTREAM_ID_MAX = 63
PREFIX_HEX = 12  # 48 bits of the principal's digest: distinct per principal in practice


class AgentNames:
    """One principal's mapping between the agent names it uses and the upstream ids."""

    def __init__(self, principal: str) -> None:
        if principal == LOCAL_PRINCIPAL:
            self.prefix = ""
        else:
            digest = hashlib.sha256(principal.encode()).hexdigest()[:PREFIX_HEX]
            self.prefix = f"u{digest}-"
        self.max_length = UPSTREAM_ID_MAX - len(self.prefix)

    def is_valid(self, name: str) -> bool:
        return len(name) <= self.max_length and UPSTREAM_ID.fullmatch(name) is not None

    def upstream(self, name: str) -> str:
        return self.prefix + name

    def owns(self, upstream_id: str) -> bool:
        return upstream_id.startswith(self.prefix)

    def name_of(self, upstream_id: str) -> str:
        """The caller's name for an upstream id it owns."""
        return upstream_id[len(self.prefix) :]
