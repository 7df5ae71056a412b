"""The web adapter: server-rendered pages for visitors of public links and file drops.

Pages are Jinja2 templates in German (the default) and English, every text
through gettext with the catalogues under ``locale/``; the one stylesheet is
served by ThVC itself under a URL that names its content's hash. No script, no
asset from another host. Rules stay in the core: the pages only translate
``thvc.sharing`` and ``thvc.files`` into HTML, downloads and uploads.
"""
