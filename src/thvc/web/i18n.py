"""Languages: which one a visitor gets, the gettext catalogues, and the Jinja2 environments.

The catalogues are the ``.po`` files under ``locale/{de,en}/LC_MESSAGES/thvc.po``,
read with Babel and compiled in memory at start-up: nothing to compile at
install time. Message ids are the English texts; German is the default.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from babel.units import format_unit
from starlette.requests import Request

from thvc.web import assets

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
DOMAIN = "thvc"
HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"

try:  # where the administrations are; times are shown in their zone
    ZONE: ZoneInfo | None = ZoneInfo("Europe/Berlin")
except ZoneInfoNotFoundError:  # no tz database on this machine: UTC, and it says so
    ZONE = None


def language(request: Request) -> str:
    """``?lang=`` if it names one we have, else the best of Accept-Language, else German."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


def catalogue_files(lang: str) -> list[Path]:
    """``thvc.po`` (the layout, log-in, link pages) first, then one file per part of the
    interface (``files.po``, ``admin.po``, ...), so that parts are translated apart."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return [folder / f"{DOMAIN}.po", *sorted(p for p in folder.glob("*.po") if p.stem != DOMAIN)]


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of ``lang``: all its ``.po`` files (read once per process)."""
    assert lang in LANGUAGES, lang
    first, *rest = catalogue_files(lang)
    with first.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    for path in rest:
        with path.open("rb") as fh:
            for message in read_po(fh, locale=lang, domain=DOMAIN):
                if message.id:
                    catalog[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext(lang: str, message: str, **values: object) -> str:
    """A translated text outside the templates, with ``%(name)s`` values put in."""
    text = translations(lang).gettext(message)
    return text % values if values else text


def ngettext(lang: str, singular: str, plural: str, num: int) -> str:
    """``singular`` or ``plural`` as ``lang`` counts ``num``, with ``%(num)s`` put in."""
    return translations(lang).ngettext(singular, plural, num) % {"num": num}


def format_size(size: int, lang: str) -> str:
    """``1,5 MB`` / ``1.5 MB``: decimal units, as file managers show them."""
    value, unit = float(size), "byte"
    for name in ("kilobyte", "megabyte", "gigabyte", "terabyte"):
        if value < 1000:
            break
        value, unit = value / 1000, name
    if unit == "byte":
        return format_unit(size, "digital-byte", length="short", locale=lang)
    return format_unit(value, f"digital-{unit}", length="short", locale=lang, format="#,##0.#")


def format_time(when: datetime, lang: str) -> str:
    if ZONE is None:
        return format_datetime(when, "medium", locale=lang) + " UTC"
    return format_datetime(when, "medium", tzinfo=ZONE, locale=lang)


@cache
def environment(lang: str) -> jinja2.Environment:
    """The templates, with ``lang``'s catalogue installed (one environment per language)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["size"] = lambda n: format_size(int(n), lang)
    env.filters["when"] = lambda t: format_time(t, lang)
    env.globals["lang"] = lang
    env.globals["asset_url"] = assets.asset_url
    return env


def load() -> None:
    """Read every catalogue and template now, so that a broken one stops start-up."""
    for lang in LANGUAGES:
        env = environment(lang)
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
