"""A downstream server's stderr is masked of its secrets wherever the reading cut it into pieces."""

from __future__ import annotations

from gemini_interactions_mcp.downstream.masked import MaskedPieces

SECRETS = ("ghp_0123456789abcdef", "tok-12345678")
TEXT = "auth ghp_0123456789abcdef failed; retry with tok-12345678 then tok-12345678."
WHOLE = "auth [m] failed; retry with [m] then [m]."


def fed(pieces: list[str], last_whole: bool = False) -> str:
    masked = MaskedPieces(SECRETS, "[m]")
    out = [masked.piece(p, whole=last_whole and i == len(pieces) - 1) for i, p in enumerate(pieces)]
    return "".join(out) + masked.rest()


def test_every_cut_in_two_masks_as_the_whole_text_does() -> None:
    for cut in range(len(TEXT) + 1):
        assert fed([TEXT[:cut], TEXT[cut:]]) == WHOLE, cut


def test_pieces_of_any_size_mask_as_the_whole_text_does() -> None:
    for size in range(1, 25):
        assert fed([TEXT[i : i + size] for i in range(0, len(TEXT), size)]) == WHOLE, size


def test_a_whole_line_comes_out_at_once_and_a_cut_piece_holds_back_only_its_end() -> None:
    masked = MaskedPieces(SECRETS, "[m]")
    assert masked.piece("a line with tok-12345678\n", whole=True) == "a line with [m]\n"
    assert masked.rest() == ""
    out = masked.piece("x" * 50 + "ghp_0123", whole=False)
    assert out == "x" * (58 - 19)  # the longest secret less one character is held
    assert out + masked.piece("456789abcdef\n", whole=True) == "x" * 50 + "[m]\n"


def test_without_secrets_nothing_is_held() -> None:
    masked = MaskedPieces((), "[m]")
    assert masked.piece("abc", whole=False) == "abc" and masked.rest() == ""
