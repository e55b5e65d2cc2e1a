"""The prebuilt voices of the speech models, with the character the docs give each (media-files-tools
section 4.5): what `speak` accepts and `gemini://voices` lists."""

from __future__ import annotations

VOICES: dict[str, str] = {
    "Zephyr": "bright",
    "Puck": "upbeat",
    "Charon": "informative",
    "Kore": "firm",
    "Fenrir": "excitable",
    "Leda": "youthful",
    "Orus": "firm",
    "Aoede": "breezy",
    "Callirrhoe": "easy-going",
    "Autonoe": "bright",
    "Enceladus": "breathy",
    "Iapetus": "clear",
    "Umbriel": "easy-going",
    "Algieba": "smooth",
    "Despina": "smooth",
    "Erinome": "clear",
    "Algenib": "gravelly",
    "Rasalgethi": "informative",
    "Laomedeia": "upbeat",
    "Achernar": "soft",
    "Alnilam": "firm",
    "Schedar": "even",
    "Gacrux": "mature",
    "Pulcherrima": "forward",
    "Achird": "friendly",
    "Zubenelgenubi": "casual",
    "Vindemiatrix": "gentle",
    "Sadachbia": "lively",
    "Sadaltager": "knowledgeable",
    "Sulafat": "warm",
}
DEFAULT_VOICE = "Kore"
CUSTOM_VOICE_PREFIXES = ("voice_", "voicekey_")
"""Stored custom voices and client voice keys are passed through as given."""


def is_voice(name: str) -> bool:
    return name in VOICES or name.startswith(CUSTOM_VOICE_PREFIXES)


def voices_markdown() -> str:
    lines = [
        "# Voices for speak",
        "",
        f"Default: {DEFAULT_VOICE}. Pass `voice`, or `speakers` (name -> voice).",
    ]
    lines += ["", *(f"- {name}: {character}" for name, character in VOICES.items())]
    return "\n".join(lines) + "\n"
