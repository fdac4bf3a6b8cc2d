"""``/dashboard``: the client panel, static files shipped inside the package.

The page is plain HTML, CSS and JavaScript (no build step, no CDN); it signs in
with an access token kept in ``sessionStorage`` and talks to the same REST API
and ``/v1/events`` stream as any client. Every response under ``/dashboard``
carries a strict Content-Security-Policy (see ``hub.serving.middleware``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

ROOT: Final = Path(__file__).resolve().parents[1] / "web" / "dashboard"

assets = StaticFiles(directory=ROOT)


async def page(request: Request) -> Response:
    if request.url.path.endswith("/dashboard"):
        return RedirectResponse(request.url.path + "/", status_code=308)
    return FileResponse(ROOT / "index.html", headers={"Cache-Control": "no-cache"})
