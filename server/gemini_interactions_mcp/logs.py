"""Logging to stderr, as text or as one JSON object per line (`--log-format json`) with a request id.

On stdio, stdout carries nothing but the protocol, so logs always go to stderr. Over HTTP each request
gets an id (the caller's `X-Request-Id`, or a fresh one) that every log line written while serving it
carries, including lines from the tasks it starts; the response echoes it. Log lines never hold
secrets: the code that logs passes ids and sizes, never keys, tokens or prompts.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, exception text."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Request lines of the HTTP client would log prompts' URLs at INFO; keep them at WARNING.
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, logging.getLevelName(level)))
