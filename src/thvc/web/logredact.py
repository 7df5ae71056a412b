"""Link tokens never reach the access log whole.

A public link's token is its only secret (for a link without a password). The
access log keeps its first six characters, enough to tell links apart and to
match the audit log's ``link:abcdef``: ``/s/abcdef…/download``. The filter sits
on uvicorn's access handler through the logging configuration ``thvc serve``
passes to uvicorn, so every worker process has it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

KEEP = 6
# A path that starts with /s/{token} or /public.php/dav/files/{token} (at the start of the
# text or after a space or quote, as in an access line); the token ends at / ? # or space.
TOKEN_IN_PATH = re.compile(
    r"(?<![^\s\"])(/s/|/public\.php/dav/files/)([^/?#\s\"]{1," + str(KEEP) + r"})[^/?#\s\"]*"
)


def redact(text: str) -> str:
    """``text`` with every link token in a path cut to its first characters and "…"."""
    return TOKEN_IN_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)}…", text)


class RedactTokens(logging.Filter):
    """Shortens link tokens in a record's message arguments (uvicorn's access lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with the access handler filtered."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["thvc_redact_tokens"] = {"()": RedactTokens}
    access = config["handlers"]["access"]
    access["filters"] = [*access.get("filters", []), "thvc_redact_tokens"]
    return config
