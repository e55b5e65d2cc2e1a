"""Your own Gemini key (BYOK): the key of the call being served, and the principal it makes.

The key lives only in a context variable. The HTTP transport sets it for one request (from the
`X-Goog-Api-Key` header, with `--byok`); the background tasks that request starts, such as a job's
watcher, inherit it, and it is gone when they end. So a caller's key is used for that caller's work
only, and is never stored, logged or shown: the store sees a digest inside the principal at most.

A principal is distinct per key: alice with key A, alice with key B and alice with the server's key
are three principals, since each key is its own Google project with its own interactions and bill.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar

from pydantic import SecretStr

from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL

KEY_MARK = "key:"  # principals contain ':' only here: token names cannot, and this is added last
DIGEST_HEX = 32

CALLER_KEY: ContextVar[SecretStr | None] = ContextVar("caller_key", default=None)


def caller_key() -> SecretStr | None:
    """The current call's own Gemini key, if the caller brought one."""
    return CALLER_KEY.get()


def principal_with_key(principal: str, key: SecretStr | None) -> str:
    """`principal` as it calls with `key` (unchanged with none): e.g. `alice+key:3f2a…`."""
    if key is None:
        return principal
    digest = hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:DIGEST_HEX]
    # The local user owns the server's key; a caller with a key of its own is not that user.
    base = "" if principal == LOCAL_PRINCIPAL else f"{principal}+"
    return f"{base}{KEY_MARK}{digest}"


def runs_on_own_key(principal: str) -> bool:
    """Whether this principal's work runs on a key the server does not keep (so it cannot resume it)."""
    return principal.startswith(KEY_MARK) or f"+{KEY_MARK}" in principal
