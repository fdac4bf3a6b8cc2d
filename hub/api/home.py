"""``GET /``: the address ``make run`` prints, so a person who opens it finds
their way: the developer docs, the dashboard and the health check.

Browsers get a small HTML page (the dashboard's own stylesheet, nothing
inline, nothing from elsewhere: the pages' strict CSP holds); a client that
asks for ``application/json`` gets the same links as JSON.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from hub import __version__

LINKS: Final = {
    "docs": "/docs",
    "dashboard": "/dashboard/",
    "health": "/api/v1/health",
    "openapi": "/api/v1/openapi.json",
}

_PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>relayhub</title>
  <link rel="icon" href="/dashboard/assets/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/dashboard/assets/style.css">
</head>
<body>
  <main id="main" class="main">
    <h1>relayhub {__version__}</h1>
    <p class="lead">This hub sends SMS and one-time codes through your own Android phones.
      Where to next?</p>
    <nav class="stack" aria-label="Start here">
      <section class="card"><h2><a href="{LINKS["docs"]}">Developer docs</a></h2>
        <p>Send your first SMS from code: the REST API, webhooks and examples in
          13 languages.</p></section>
      <section class="card"><h2><a href="{LINKS["dashboard"]}">Dashboard</a></h2>
        <p>Pair phones, watch messages and webhooks, manage tokens. Sign in with the
          link that <code>relayhub dashboard-link</code> prints, or paste an access
          token.</p></section>
      <section class="card"><h2><a href="{LINKS["health"]}">Health check</a></h2>
        <p>Is the hub up and its storage writable? JSON, for monitors.</p></section>
    </nav>
  </main>
</body>
</html>
"""


_VARY: Final = {"Vary": "Accept"}  # one address, two answers: caches must tell them apart


def _wants_json(request: Request) -> bool:
    """Only a client that names JSON and not HTML (a browser names HTML)."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def home(request: Request) -> Response:
    if _wants_json(request):
        body = {"ok": True, "name": "relayhub", "version": __version__, "links": LINKS}
        return JSONResponse(body, headers=_VARY)
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache", **_VARY})
