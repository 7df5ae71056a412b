"""Access lines: as uvicorn writes them, with link tokens cut short."""

from __future__ import annotations

import logging

import pytest

from thvc.web.logredact import AccessLine, redact, uvicorn_log_config

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


def _access_record(path: str, status: int = 200) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", status),
        None,
    )


def test_access_lines_cut_tokens_short() -> None:
    line = AccessLine().format(_access_record(f"/s/{TOKEN}/download"))
    assert TOKEN not in line
    assert line == 'INFO:     127.0.0.1:5000 - "GET /s/Xb3kLm…/download HTTP/1.1" 200 OK'


def test_access_lines_read_as_uvicorns_own() -> None:
    """Same text as uvicorn's formatter without colours: log parsers need not change."""
    from uvicorn.logging import AccessFormatter

    theirs = AccessFormatter(
        '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False
    )
    for status in (200, 207, 404, 599):
        record = _access_record("/remote.php/dav/files/anna@lauscha/a%20b.txt?x=1", status)
        assert AccessLine().format(record) == theirs.format(record)


def test_other_records_are_formatted_and_redacted_too() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.WARNING, __file__, 1, "odd line %s", (f"/s/{TOKEN}",), None
    )
    assert AccessLine().format(record) == "odd line /s/Xb3kLm…"


def test_the_log_config_formats_access_lines_with_access_line() -> None:
    config = uvicorn_log_config()
    assert config["formatters"]["access"] == {"()": AccessLine}
    assert config["handlers"]["access"]["stream"] == "ext://sys.stdout"
    # uvicorn's own default is left as it was.
    from uvicorn.config import LOGGING_CONFIG

    assert LOGGING_CONFIG["formatters"]["access"]["()"] == "uvicorn.logging.AccessFormatter"
