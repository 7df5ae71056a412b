"""The visitor's sealed session cookie and the forms' CSRF tokens."""

from __future__ import annotations

import time

import pytest
from starlette.requests import Request
from starlette.responses import Response

from thvc.web import session as sessions
from thvc.web.session import COOKIE, Dropped, Sessions

SECRET = b"k" * 32


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/s/t", "headers": headers})


def sealed(store: Sessions, s: sessions.Session, token: str) -> str:
    response = Response()
    store.store(response, s, token, f"/s/{token}")
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    return value


def test_a_session_round_trips_sealed_and_only_on_its_link() -> None:
    store = Sessions(SECRET)
    fresh = store.load(request_with(None), "tok1")
    assert not fresh.stored
    s = fresh.with_password("geheim").with_dropped([Dropped("a.txt", 3), Dropped("b.txt", 4)])
    value = sealed(store, s, "tok1")
    assert "geheim" not in value and "a.txt" not in value
    back = store.load(request_with(value), "tok1")
    assert back.stored and back.password == "geheim" and back.sid == s.sid
    assert [d.name for d in back.dropped] == ["b.txt", "a.txt"]
    # Another link, another key, or a changed byte: a fresh session, nothing else.
    assert not store.load(request_with(value), "tok2").stored
    assert not Sessions(b"x" * 32).load(request_with(value), "tok1").stored
    flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    assert not store.load(request_with(flipped), "tok1").stored
    assert not store.load(request_with("%%%not-base64"), "tok1").stored


def test_a_session_ends_after_its_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Sessions(SECRET)
    s = store.load(request_with(None), "tok")
    value = sealed(store, s, "tok")
    later = time.time() + sessions.MAX_AGE + 5
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    assert not store.load(request_with(value), "tok").stored


def test_the_cookie_stays_small_however_many_files_were_dropped() -> None:
    store = Sessions(SECRET)
    s = store.load(request_with(None), "tok")
    many = [Dropped(f"{'ä' * 100} {i}.txt", i) for i in range(200)]
    value = sealed(store, s.with_dropped(many), "tok")
    assert len(value) <= sessions.MAX_COOKIE
    back = store.load(request_with(value), "tok")
    assert back.dropped and back.dropped[0].name.endswith(" 199.txt")  # the newest kept


def test_csrf_tokens_are_bound_to_the_session_the_link_and_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Sessions(SECRET)
    s = store.load(request_with(None), "tok")
    stored = store.load(request_with(sealed(store, s, "tok")), "tok")
    token = store.csrf(stored, "tok")
    assert store.check_csrf(stored, "tok", token)
    assert not store.check_csrf(s, "tok", token)  # not yet held by the browser
    assert not store.check_csrf(stored, "other", token)
    other = store.load(
        request_with(sealed(store, store.load(request_with(None), "tok"), "tok")), "tok"
    )
    assert not store.check_csrf(other, "tok", token)
    assert not store.check_csrf(stored, "tok", "garbage")
    later = time.time() + sessions.CSRF_MAX_AGE + 5
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    assert not store.check_csrf(stored, "tok", token)
