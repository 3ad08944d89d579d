"""The web page: ``/`` serves the single page, ``/ui/<file>`` its static assets (no build step, no CDN).

Assets are served by explicit routes from an allowlist made at mount time rather than a StaticFiles
mount, so Serve's ingress treats them like every other route and no path can escape the folder.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response

from deployments.http.protocol import error

WEB_DIR = Path(__file__).with_name("web")
ASSET_PREFIX = "/ui/"
# mimetypes reads /etc/mime.types, which may lack .js or map it to text/plain; browsers refuse
# modules served with a non-JavaScript type.
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


def _media_type(path: Path) -> str:
    return TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def mount_web(app: FastAPI) -> None:
    assets = {p.name: p for p in WEB_DIR.iterdir() if p.is_file() and p.name != "index.html"}
    index = WEB_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        # Revalidate the page on every load so a redeploy shows up; assets are tiny.
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get(ASSET_PREFIX + "{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        path = assets.get(name)
        if path is None:
            return error(404, f"no asset {name[:80]!r}", "not_found")
        return FileResponse(path, media_type=_media_type(path), headers={"Cache-Control": "no-cache"})
