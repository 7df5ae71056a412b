"""Every failure is an RFC 9457 problem document with the right status; bad input is never a 500."""

from __future__ import annotations

from tests.api.support import Api, problem_of


def test_an_unknown_path_is_a_404_problem(api: Api) -> None:
    body = problem_of(api.get("/no/such/thing", check=404), 404)
    assert body["type"] == "about:blank"


def test_a_wrong_method_is_a_405_problem_with_allow(api: Api) -> None:
    r = api.request("PUT", "/me", check=405)
    problem_of(r, 405)
    assert "GET" in r.headers["allow"]


def test_invalid_parameters_are_a_422_listing_the_fields(api: Api) -> None:
    r = api.get("/files", params={"limit": 0, "sort": "colour"}, check=422)
    body = problem_of(r, 422, "validation-error")
    where = {tuple(e["loc"]) for e in body["errors"]}
    assert where == {("query", "limit"), ("query", "sort")}
    assert all(e["msg"] and e["type"] for e in body["errors"])


def test_a_body_that_is_no_json_is_a_422(api: Api) -> None:
    r = api.post(
        "/files/folders",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        check=422,
    )
    problem_of(r, 422, "validation-error")


def test_a_form_body_is_not_taken_for_json(api: Api) -> None:
    # What a cross-site HTML form could send: refused, not parsed.
    r = api.post("/files/folders", data={"path": "/x"}, check=422)
    problem_of(r, 422, "validation-error")


def test_unknown_fields_are_refused(api: Api) -> None:
    r = api.post("/files/folders", json={"path": "/x", "colour": "red"}, check=422)
    assert problem_of(r, 422)["errors"][0]["loc"] == ["body", "colour"]


def test_text_the_database_cannot_store_is_a_422(api: Api) -> None:
    problem_of(api.post("/me/app-passwords", json={"name": "a\x00b"}, check=422), 422)
    problem_of(
        api.post(
            "/me/app-passwords",
            content=b'{"name": "\\ud800"}',
            headers={"Content-Type": "application/json"},
            check=422,
        ),
        422,
    )


def test_a_too_large_body_is_refused_before_it_is_read(api: Api) -> None:
    r = api.post(
        "/files/folders",
        content=b'{"path": "' + b"a" * (2 << 20) + b'"}',
        headers={"Content-Type": "application/json"},
        check=413,
    )
    problem_of(r, 413)


def test_a_bad_name_is_a_400(api: Api) -> None:
    for path in ("/a/../b", "/a\x01b", "/" + "x" * 300):
        problem_of(api.get("/files/meta", params={"path": path}, check=400), 400, "invalid-name")


def test_the_error_does_not_echo_a_refused_password(api: Api) -> None:
    r = api.post("/me/password", json={"current": "geheim-1234567", "new": 5}, check=422)
    assert "geheim" not in r.text


def test_a_too_large_chunked_body_is_refused_too(api: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"path": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    r = api.post(
        "/files/folders",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        check=413,
    )
    problem_of(r, 413)
