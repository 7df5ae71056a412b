"""The Login Flow v2 pages: plain server-rendered HTML in German or English, and their CSS.

No script, no inline style, nothing from another host: the only other
resource is the stylesheet ThVC serves itself (CSP ``default-src 'none'``).
Every value that comes from a user or a client is escaped here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
CSS_PATH = "/index.php/login/v2/thvc.css"

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "product": "ThVC",
        "switch_to": "Deutsch",
        "login_title": "Anmelden",
        "login_intro": "{client} möchte auf Ihr Konto zugreifen. Melden Sie sich an, "
        "um den Zugriff zu erlauben.",
        "user": "Anmeldename",
        "user_hint": "zum Beispiel anna@lauscha",
        "password": "Passwort",
        "login_button": "Anmelden",
        "wrong": "Anmeldename oder Passwort ist falsch.",
        "throttled": "Zu viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es in "
        "{seconds} Sekunden erneut.",
        "grant_title": "Zugriff erlauben?",
        "grant_question": "Darf {client} auf Ihr Konto {login} zugreifen?",
        "grant_detail": "Die Anwendung erhält ein eigenes App-Passwort. Sie können es "
        "jederzeit widerrufen, ohne Ihr Passwort zu ändern.",
        "grant_button": "Zugriff erlauben",
        "deny_button": "Ablehnen",
        "done_title": "Fertig",
        "done_text": "{client} ist jetzt mit Ihrem Konto verbunden. Sie können dieses "
        "Fenster schließen.",
        "denied_title": "Abgelehnt",
        "denied_text": "Der Zugriff wurde nicht erlaubt. Sie können dieses Fenster schließen.",
        "missing_title": "Anmeldung nicht gefunden",
        "missing_text": "Dieser Anmeldelink ist unbekannt oder abgelaufen. Starten Sie die "
        "Anmeldung in der Anwendung erneut.",
        "form_title": "Formular ungültig",
        "form_text": "Das Formular ist ungültig oder abgelaufen. Bitte öffnen Sie den "
        "Anmeldelink erneut.",
        "bad_title": "Ungültige Anfrage",
    },
    "en": {
        "product": "ThVC",
        "switch_to": "English",
        "login_title": "Log in",
        "login_intro": "{client} wants to access your account. Log in to allow it.",
        "user": "Login name",
        "user_hint": "for example anna@lauscha",
        "password": "Password",
        "login_button": "Log in",
        "wrong": "Wrong login name or password.",
        "throttled": "Too many failed logins. Please try again in {seconds} seconds.",
        "grant_title": "Allow access?",
        "grant_question": "Allow {client} to access your account {login}?",
        "grant_detail": "The application gets an app password of its own. You can revoke "
        "it at any time without changing your password.",
        "grant_button": "Allow access",
        "deny_button": "Deny",
        "done_title": "Done",
        "done_text": "{client} is now connected to your account. You can close this window.",
        "denied_title": "Denied",
        "denied_text": "Access was not allowed. You can close this window.",
        "missing_title": "Login not found",
        "missing_text": "This login link is unknown or has expired. Start the login again "
        "in the application.",
        "form_title": "Invalid form",
        "form_text": "The form is invalid or has expired. Please open the login link again.",
        "bad_title": "Bad request",
    },
}

CSS = """\
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  font-size: 1rem; line-height: 1.5; color: #1a1a1a; background: #eef1f4;
}
main {
  width: 100%; max-width: 28rem; margin: 1rem; padding: 2rem;
  background: #ffffff; border: 1px solid #c4ccd4; border-radius: 0.5rem;
}
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
.product { font-weight: 700; color: #00457d; margin-bottom: 0.5rem; }
.lang { text-align: right; margin: 0 0 0.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
.hint { display: block; font-size: 0.875rem; color: #4a5560; margin-bottom: 0.25rem; }
input[type=text], input[type=password] {
  width: 100%; padding: 0.6rem; font: inherit; color: inherit;
  border: 1px solid #5f6b76; border-radius: 0.25rem; background: #ffffff;
}
input[aria-invalid=true] { border-color: #b00020; border-width: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.5rem; }
button {
  font: inherit; font-weight: 600; padding: 0.6rem 1.2rem; border-radius: 0.25rem;
  border: 2px solid #00457d; background: #00457d; color: #ffffff; cursor: pointer;
}
button.secondary { background: #ffffff; color: #00457d; }
a { color: #00457d; }
:focus-visible { outline: 3px solid #d35400; outline-offset: 2px; }
.error {
  padding: 0.75rem; margin: 0 0 1rem; border-left: 4px solid #b00020;
  background: #fdecee; color: #7a0016;
}
@media (prefers-color-scheme: dark) {
  :root { color-scheme: dark; }
  body { background: #14181c; color: #eceff1; }
  main { background: #1e252b; border-color: #3c4650; }
  .product, a { color: #8cc4ff; }
  .hint { color: #b8c2cc; }
  input[type=text], input[type=password] { background: #14181c; border-color: #8795a1; }
  button { background: #8cc4ff; border-color: #8cc4ff; color: #0b1a29; }
  button.secondary { background: transparent; color: #8cc4ff; }
  .error { background: #3a1218; color: #ffd6dc; border-left-color: #ff6b81; }
}
"""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The login token is in the URL: never send it anywhere else.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def language(request: Request) -> str:
    """``?lang=`` if given, else the best of German and English by Accept-Language."""
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
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


def t(lang: str, key: str, **values: str) -> str:
    """A text with ``values`` put in, all escaped."""
    text = escape(TEXT[lang][key])
    return text.format(**{k: f"<strong>{escape(v)}</strong>" for k, v in values.items()})


def page(
    request: Request,
    lang: str,
    title_key: str,
    body: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    switch: Mapping[str, str] | None = None,
) -> Response:
    """A whole page; ``switch`` (query parameters) adds a link to this URL in the other language."""
    other = "en" if lang == "de" else "de"
    link = ""
    if switch is not None:
        href = f"{quote(request.url.path)}?{urlencode({**switch, 'lang': other})}"
        link = (
            f'<p class="lang"><a href="{escape(href)}" lang="{other}" hreflang="{other}">'
            f"{t(other, 'switch_to')}</a></p>\n"
        )
    html = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{t(lang, title_key)} &ndash; {t(lang, "product")}</title>
<link rel="stylesheet" href="{CSS_PATH}">
</head>
<body>
<main>
{link}<p class="product">{t(lang, "product")}</p>
<h1>{t(lang, title_key)}</h1>
{body}
</main>
</body>
</html>
"""
    return Response(
        html,
        status,
        {**SECURITY_HEADERS, **(headers or {})},
        media_type="text/html; charset=utf-8",
    )


def message(
    request: Request,
    lang: str,
    title_key: str,
    text_key: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: str,
) -> Response:
    return page(
        request,
        lang,
        title_key,
        f"<p>{t(lang, text_key, **values)}</p>",
        status=status,
        headers=headers,
    )


def login_form(
    request: Request,
    lang: str,
    *,
    action: str,
    client: str,
    csrf: str,
    user: str = "",
    error: str = "",
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The sign-in form; ``error`` is already-rendered text (from :func:`t`)."""
    alert = f'<p class="error" id="login-error" role="alert">{error}</p>\n' if error else ""
    invalid = ' aria-invalid="true"' if error else ""
    user_described = "user-hint login-error" if error else "user-hint"
    password_described = ' aria-describedby="login-error"' if error else ""
    focus_user = "" if user else " autofocus"
    focus_pw = " autofocus" if user else ""
    body = f"""{alert}<p>{t(lang, "login_intro", client=client)}</p>
<form method="post" action="{escape(action)}">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<label for="user">{t(lang, "user")}</label>
<span class="hint" id="user-hint">{t(lang, "user_hint")}</span>
<input type="text" id="user" name="user" value="{escape(user)}" required
 autocomplete="username" autocapitalize="none" spellcheck="false"
 aria-describedby="{user_described}"{invalid}{focus_user}>
<label for="password">{t(lang, "password")}</label>
<input type="password" id="password" name="password" required
 autocomplete="current-password"{invalid}{password_described}{focus_pw}>
<div class="actions"><button type="submit">{t(lang, "login_button")}</button></div>
</form>"""
    return page(
        request,
        lang,
        "login_title",
        body,
        status=status,
        headers=headers,
        switch={"user": user} if user else {},
    )


def grant_form(
    request: Request, lang: str, *, action: str, client: str, login: str, ticket: str
) -> Response:
    body = f"""<p>{t(lang, "grant_question", client=client, login=login)}</p>
<p>{t(lang, "grant_detail")}</p>
<form method="post" action="{escape(action)}">
<input type="hidden" name="ticket" value="{escape(ticket)}">
<div class="actions">
<button type="submit" name="decision" value="grant">{t(lang, "grant_button")}</button>
<button type="submit" name="decision" value="deny" class="secondary">{t(lang, "deny_button")}</button>
</div>
</form>"""  # noqa: E501
    return page(request, lang, "grant_title", body)


def stylesheet() -> Response:
    return Response(
        CSS,
        200,
        {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        media_type="text/css; charset=utf-8",
    )
