"""Secrets masked in a text that arrives in pieces: a downstream server's stderr, read a line at a time
but a long line in cut pieces, where a token can straddle the cut and neither half would be masked."""

from __future__ import annotations

from collections.abc import Sequence


class MaskedPieces:
    """Masks `secrets` (longest first) with `mask` in each piece, holding back the end of a cut piece
    (as many characters as the longest secret, less one) until the next piece completes it. What comes
    out is the text in the same order, each secret masked wherever the cuts fell."""

    def __init__(self, secrets: Sequence[str], mask: str) -> None:
        self._secrets = tuple(secrets)
        self._mask = mask
        self._hold = max((len(s) for s in self._secrets), default=1) - 1
        self._held = ""

    def _masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, self._mask)
        return text

    def piece(self, text: str, *, whole: bool) -> str:
        """`text` masked, with what was held before it. `whole` says the piece ends a line: nothing is
        held past it (a secret that spans lines is also listed line by line, `ServerConfig.secrets`).
        A cut piece keeps back its last characters, so the result may be shorter, or empty."""
        masked = self._masked(self._held + text)
        if whole or not self._hold:
            self._held = ""
            return masked
        cut = max(0, len(masked) - self._hold)
        self._held = masked[cut:]
        return masked[:cut]

    def rest(self) -> str:
        """What is still held at the end of the text (masked)."""
        held, self._held = self._held, ""
        return self._masked(held)
