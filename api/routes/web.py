"""The browser side: the embeddable chat widget, the staff console and the demo store page.

The scripts are built from `web/` (`make widget`) into `api/static/`, and the
built files are committed, so the service runs without Node.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import SettingsDep
from api.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)

_SCRIPT_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _file(name: str, media_type: str, headers: dict[str, str]) -> FileResponse:
    path = STATIC_DIR / name
    if not path.is_file():
        raise NotFound(f"{name!r} is not built: run `make widget`.")
    return FileResponse(path, media_type=media_type, headers=headers)


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_script() -> FileResponse:
    """Serve the chat widget a store embeds with one script tag."""
    return _file("widget.js", "text/javascript", _SCRIPT_HEADERS)


@router.api_route("/console.js", methods=["GET", "HEAD"])
async def console_script() -> FileResponse:
    """Serve the staff console's script."""
    return _file("console.js", "text/javascript", _SCRIPT_HEADERS)


@router.api_route("/staff", methods=["GET", "HEAD"])
async def staff_console() -> FileResponse:
    """Serve the staff approval console (its API calls need a staff token)."""
    headers = {**_PAGE_HEADERS, "X-Frame-Options": "DENY"}
    return _file("staff.html", "text/html", headers)


@router.api_route("/", methods=["GET", "HEAD"])
async def demo_store(settings: SettingsDep) -> FileResponse:
    """Serve the demo store page with the widget (development mode only)."""
    if not settings.is_development:
        raise NotFound("The demo store page only runs with SWITCHBOARD_ENV=development.")
    return _file("index.html", "text/html", _PAGE_HEADERS)
