"""Speech models (TTS): the transcript read aloud as raw PCM, the format 3.1 preview returns (section 4).

`generation_config.speech_config` is a list of `{voice, language?, speaker?}` or `{"speakers": [...]}`;
with speakers, each transcript line "Name: text" is read by that speaker's voice. Voices are checked
against the prebuilt list (or `voice_…` / `voicekey_…` ids), at most two speakers, and a
`response_format.mime_type` is refused the way the 3.1 preview refuses it.
"""

from __future__ import annotations

import base64
from typing import Any

from .. import media
from ..errors import bad_request
from ..plan import JSON, Run, sequential
from ..text import newest_user_text, parse_think
from .common import TurnContext, input_tokens, usage

VOICES = frozenset(
    {
        "Zephyr",
        "Puck",
        "Charon",
        "Kore",
        "Fenrir",
        "Leda",
        "Orus",
        "Aoede",
        "Callirrhoe",
        "Autonoe",
        "Enceladus",
        "Iapetus",
        "Umbriel",
        "Algieba",
        "Despina",
        "Erinome",
        "Algenib",
        "Rasalgethi",
        "Laomedeia",
        "Achernar",
        "Alnilam",
        "Schedar",
        "Gacrux",
        "Pulcherrima",
        "Achird",
        "Zubenelgenubi",
        "Vindemiatrix",
        "Sadachbia",
        "Sadaltager",
        "Sulafat",
    }
)
DEFAULT_VOICE = "Kore"
MAX_SPEAKERS = 2
AUDIO_TOKENS_PER_SECOND = 32


def is_speech_model(name: str) -> bool:
    return "-tts" in name


def respond(ctx: TurnContext) -> Run:
    req = ctx.request
    think, transcript = parse_think(newest_user_text(req.input_steps))
    if not transcript:
        raise bad_request(f"Model '{req.name}' needs text to speak in 'input'.")
    _check_format(req.name, req.response_format)
    speakers = _speakers(req.generation_config.get("speech_config"))
    pcm = media.speech(_segments(transcript, speakers))
    seconds = len(pcm) / 2 / media.PCM_RATE
    block: JSON = {
        "type": "audio",
        "mime_type": "audio/l16",
        "sample_rate": media.PCM_RATE,
        "channels": 1,
        "data": base64.b64encode(pcm).decode(),
    }
    audio_tokens = max(1, round(seconds * AUDIO_TOKENS_PER_SECOND))
    run_usage = usage(input_tokens(ctx), audio_tokens)
    run_usage["output_tokens_by_modality"] = [{"modality": "audio", "tokens": audio_tokens}]
    duration = think if think is not None else ctx.config.model_seconds
    steps = [{"type": "model_output", "content": [block]}]
    return Run(sequential(steps, duration), duration, "completed", run_usage)


def _check_format(model: str, response_format: Any) -> None:
    items = response_format if isinstance(response_format, list) else [response_format]
    for item in (i for i in items if isinstance(i, dict)):
        if item.get("type") != "audio":
            raise bad_request(f"Model '{model}' only generates audio: 'response_format' must be 'audio'.")
        if "mime_type" in item:
            raise bad_request("Audio_mime_type_is_not_supported_in_response_format")


def _speakers(config: Any) -> dict[str, str]:
    """Speaker name -> voice ("" names the single voice of a one-speaker request)."""
    entries = config.get("speakers") if isinstance(config, dict) else config
    if entries is None:
        return {"": DEFAULT_VOICE}
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise bad_request("'generation_config.speech_config' must be a list of speaker configs.")
    if len(entries) > MAX_SPEAKERS:
        raise bad_request(f"At most {MAX_SPEAKERS} speakers are supported in 'speech_config'.")
    speakers: dict[str, str] = {}
    for i, entry in enumerate(entries):
        voice = entry.get("voice") or DEFAULT_VOICE
        if voice not in VOICES and not voice.startswith(("voice_", "voicekey_")):
            raise bad_request(f"The value '{voice}' is not supported for 'voice' at 'speech_config[{i}]'.")
        name = entry.get("speaker") or ""
        if len(entries) > 1 and not name:
            raise bad_request(f"'speaker' is required at 'speech_config[{i}]' when there are several.")
        speakers[name] = voice
    return speakers


def _segments(transcript: str, speakers: dict[str, str]) -> list[tuple[str, str]]:
    """(voice, text) in reading order: "Name: line" goes to Name's voice, other lines to the last one."""
    voice = next(iter(speakers.values()))
    segments: list[tuple[str, str]] = []
    for line in transcript.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip() in speakers and name.strip():
            voice, line = speakers[name.strip()], rest
        if line.strip():
            segments.append((voice, line))
    return segments
