"""Link tokens are cut short in uvicorn's access lines."""

from __future__ import annotations

import logging

import pytest

from thvc.web.logredact import RedactTokens, redact, uvicorn_log_config

TOKEN = "Xb3kLmQ9-rT_w2ZpVn8sYd4fGh7jKa1c"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (f"/s/{TOKEN}", "/s/Xb3kLm…"),
        (f"/s/{TOKEN}/download?path=/a", "/s/Xb3kLm…/download?path=/a"),
        (f"/s/{TOKEN}/?path=/sub&lang=en", "/s/Xb3kLm…/?path=/sub&lang=en"),
        (f"/public.php/dav/files/{TOKEN}/a.txt", "/public.php/dav/files/Xb3kLm…/a.txt"),
        ("/public.php/webdav/a.txt", "/public.php/webdav/a.txt"),
        ("/dav/files/anna@lauscha/s/notatoken", "/dav/files/anna@lauscha/s/notatoken"),
        (f"/static/thvc.{TOKEN}.css", f"/static/thvc.{TOKEN}.css"),
    ],
)
def test_tokens_in_paths_keep_six_characters(path: str, shown: str) -> None:
    assert redact(path) == shown


def test_the_filter_rewrites_uvicorns_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/s/{TOKEN}/download", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert TOKEN not in record.getMessage()
    assert "/s/Xb3kLm…/download" in record.getMessage()


def test_the_log_config_puts_the_filter_on_the_access_handler() -> None:
    config = uvicorn_log_config()
    assert "thvc_redact_tokens" in config["handlers"]["access"]["filters"]
    assert config["filters"]["thvc_redact_tokens"]["()"] is RedactTokens
    # uvicorn's own default is left as it was.
    from uvicorn.config import LOGGING_CONFIG

    assert "filters" not in LOGGING_CONFIG["handlers"]["access"]
