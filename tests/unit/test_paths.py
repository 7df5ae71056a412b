"""thvc.files.paths: names are checked once, at the edge."""

from __future__ import annotations

import unicodedata

import pytest

from thvc.errors import InvalidName
from thvc.files import paths


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "a.txt",
        ".hidden",
        "...",
        "a b",
        "100%",
        "日本語",
        "x" * 255,
        "ä" * 127 + "z",
        "a:b",
        "a*b?",
        "\u200b",
        " leading",
        "trailing ",
    ],
)
def test_check_name_accepts(name: str) -> None:
    assert paths.check_name(name) == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "/",
        "a\\b",
        "a\x00b",
        "\x00",
        "a\x01b",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\x1fb",
        "a\x7fb",
        "x" * 256,
        "ä" * 128,
    ],
)
def test_check_name_refuses(name: str) -> None:
    with pytest.raises(InvalidName):
        paths.check_name(name)


def test_check_name_normalises_to_nfc() -> None:
    nfd = "Cafe\u0301"
    assert paths.check_name(nfd) == "Café"
    # The 255-byte limit applies to the NFC form: "é" is 2 bytes, "e" + U+0301 is 3.
    long_nfd = "e\u0301" * 100
    assert len(long_nfd.encode()) == 300
    assert paths.check_name(long_nfd) == "é" * 100


def test_dot_dot_after_normalisation_is_refused() -> None:
    # U+FE52 (SMALL FULL STOP) is NFKC- but not NFC-equivalent to ".": allowed.
    assert paths.check_name("\ufe52\ufe52") == "\ufe52\ufe52"
    with pytest.raises(InvalidName):
        paths.check_name(unicodedata.normalize("NFC", ".."))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", []),
        (b"/", []),
        (b"/a/b/", ["a", "b"]),
        (b"//a//b", ["a", "b"]),
        (b"/a%20b/c", ["a b", "c"]),
        (b"/%C3%A4", ["ä"]),
        (b"/a%25b", ["a%b"]),
        (b"/Cafe%CC%81", ["Café"]),
        (b"/anna@lauscha/x", ["anna@lauscha", "x"]),
        (b"/a+b", ["a+b"]),
    ],
)
def test_segments_from_url(raw: bytes, expected: list[str]) -> None:
    assert paths.segments_from_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"/%2e%2e",
        b"/a/%2E%2E/b",
        b"/..",
        b"/.",
        b"/%2e",
        b"/a%2fb",
        b"/a%2Fb",
        b"/a%5cb",
        b"/%00",
        b"/a%00",
        b"/a%01",
        b"/a%0a",
        b"/%ff",
        b"/%C3",
        b"/" + b"x" * 256,
    ],
)
def test_segments_from_url_refuses(raw: bytes) -> None:
    with pytest.raises(InvalidName):
        paths.segments_from_url(raw)


def test_an_encoded_slash_never_splits() -> None:
    with pytest.raises(InvalidName):
        paths.segments_from_url(b"/a%2f..%2fb")


def test_segments_from_url_limits_depth() -> None:
    assert len(paths.segments_from_url(b"/a" * paths.MAX_DEPTH)) == paths.MAX_DEPTH
    with pytest.raises(InvalidName):
        paths.segments_from_url(b"/a" * (paths.MAX_DEPTH + 1))


def test_join_and_parent_and_name() -> None:
    assert paths.join([]) == ""
    assert paths.join(["a", "b"]) == "/a/b"
    assert paths.parent_and_name("/a/b") == ("/a", "b")
    assert paths.parent_and_name("/a") == ("", "a")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", []),
        ("/a", [""]),
        ("/a/b", ["", "/a"]),
        ("/a/b/c", ["", "/a", "/a/b"]),
    ],
)
def test_ancestors(path: str, expected: list[str]) -> None:
    assert paths.ancestors(path) == expected


def test_is_normal() -> None:
    assert paths.is_normal("")
    assert paths.is_normal("/a/b")
    assert not paths.is_normal("a/b")
    assert not paths.is_normal("/a/../b")
    assert not paths.is_normal("/a//b")
    assert not paths.is_normal("/Cafe\u0301")


@pytest.mark.parametrize("base", ["", "/a", "/a/b", "/ä"])
def test_descendant_bounds_select_exactly_the_descendants(base: str) -> None:
    lo, hi = paths.descendant_bounds(base)
    inside = [
        f"{base}/x",
        f"{base}/x/y",
        f"{base}/ ",
        f"{base}/~",
        f"{base}/\uffff",
        f"{base}/0",
        f"{base}/.hidden",
    ]
    outside = [
        base,
        f"{base}0",
        f"{base} x",
        f"{base}.txt",
        f"{base}-",
        f"{base}\u00e4",
        f"{base}~",
    ]
    if base:
        outside += [base[:-1], "/"]

    def below(p: str) -> bool:
        # Byte-wise, as the C collation compares.
        return lo.encode() < p.encode() < hi.encode()

    assert [p for p in inside if not below(p)] == []
    assert [p for p in outside if below(p)] == []
