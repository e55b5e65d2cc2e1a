"""The resource URIs the services hand out and the tools serve: background jobs, saved media, sandbox
environments. (Their own module: the tools register these templates before any service is loaded.)"""

from __future__ import annotations

import re

RESOURCE_PREFIX = "gemini://interactions/"
RESOURCE_TEMPLATE = RESOURCE_PREFIX + "{interaction_id}"
MEDIA_URI_PREFIX = "gemini://media/"
MEDIA_URI_TEMPLATE = MEDIA_URI_PREFIX + "{media_id}"
MEDIA_LINK = re.compile(re.escape(MEDIA_URI_PREFIX) + r"(m_[A-Za-z0-9_-]+)")
ENVIRONMENT_URI_PREFIX = "gemini://environments/"
ENVIRONMENT_URI_TEMPLATE = ENVIRONMENT_URI_PREFIX + "{environment_id}"


def resource_uri(interaction_id: str) -> str:
    return f"{RESOURCE_PREFIX}{interaction_id}"
