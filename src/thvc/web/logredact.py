"""Link tokens never reach the access log whole.

A public link's token is its only secret (for a link without a password). The
access log keeps its first six characters, enough to tell links apart and to
match the audit log's ``link:abcdef``: ``/s/abcdef…/download``. The formatter that
writes uvicorn's access lines does it (:class:`AccessLine`), set through the logging
configuration ``thvc serve`` passes to uvicorn, so every worker process has it.
"""

from __future__ import annotations

import copy
import http
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


_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


class AccessLine(logging.Formatter):
    """uvicorn's access line, as its own formatter writes it without colours, with link
    tokens cut short.

    Written directly from the record's arguments: uvicorn's formatter copies the record,
    formats it twice and looks the status phrase up per line, ~40 µs, a twentieth of what
    a small GET costs in all; this takes ~12.
    """

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if not (isinstance(args, tuple) and len(args) == 5):
            return redact(super().format(record))
        client, method, path, version, status = args
        if "/s/" in str(path) or "/public.php/" in str(path):
            path = redact(str(path))
        level = record.levelname
        phrase = _PHRASES.get(status, "") if isinstance(status, int) else ""
        return (
            f'{level}:{" " * (8 - len(level))} {client} - "{method} {path} HTTP/{version}" '
            f"{status} {phrase}"
        )


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with :class:`AccessLine` for access lines."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"] = {"()": AccessLine}
    return config
