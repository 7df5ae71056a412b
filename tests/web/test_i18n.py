"""Every text of the link pages is in both catalogues, and the catalogues hold nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from thvc.web import i18n

WEB = Path(i18n.__file__).parent
Msgid = str | tuple[str, ...]


def used_texts() -> set[Msgid]:
    found: set[Msgid] = set()
    for f in sorted(WEB.glob("*.py")):
        for _, msg, _, _ in extract_from_file("python", f, keywords={"tr": (2,), "ntr": (2, 3)}):
            found.add(msg)
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for f in sorted((WEB / "templates").glob("*.html")):
        with f.open("rb") as fh:
            for _, _, msg, _ in babel_extract(fh, ("_", "gettext", "ngettext"), [], options):
                if isinstance(msg, tuple):
                    msg = tuple(m for m in msg if m is not None)
                    # _("…%(x)s", x=…) comes out as a tuple of one: a singular text.
                    if len(msg) == 1:
                        msg = msg[0]
                found.add(msg)
    return found


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_catalogue_holds_every_text_and_nothing_else(lang: str) -> None:
    held: dict[Msgid, object] = {}
    for path in i18n.catalogue_files(lang):
        with path.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                if m.id:
                    assert m.id not in held, f"{m.id!r} is in two catalogues ({path.name})"
                    held[m.id] = m.string
    used = used_texts()
    assert len(used) > 40
    missing = [m for m in used if m not in held]
    assert not missing, f"not in any {lang}/*.po: {missing}"
    stale = [m for m in held if m not in used]
    assert not stale, f"no longer used, remove from {lang}/*.po: {stale}"
    untranslated = [m for m, s in held.items() if not s or (isinstance(s, tuple) and not all(s))]
    assert not untranslated, untranslated


def test_german_is_german_and_placeholders_survive() -> None:
    assert i18n.gettext("de", "Password") == "Passwort"
    assert i18n.gettext("en", "Password") == "Password"
    assert i18n.gettext("de", "Shared by %(sharer)s", sharer="Anna") == "Geteilt von Anna"
    one, many = "Thank you: %(num)s file was received.", "Thank you: %(num)s files were received."
    assert i18n.ngettext("de", one, many, 1) == "Vielen Dank: 1 Datei ist angekommen."
    assert i18n.ngettext("de", one, many, 3) == "Vielen Dank: 3 Dateien sind angekommen."


def test_sizes_and_times_in_the_visitors_language() -> None:
    assert i18n.format_size(1_500_000, "de") == "1,5 MB"
    assert i18n.format_size(1_500_000, "en") == "1.5 MB"
    assert i18n.format_size(12, "en") == "12 byte"
