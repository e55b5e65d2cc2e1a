"""Who calls: every conversation, job and agent belongs to a principal."""

from __future__ import annotations

LOCAL_PRINCIPAL = "local"
"""The principal of stdio and of unauthenticated loopback HTTP: whoever runs the server and owns its key."""
