"""The page and its assets: aiohttp's static serving of the web root, with the module's
rules on top.

``GET /`` answers the ``index.html`` of the web root: ours (the ``static`` folder next to
this module) or the folder given with ``--web-root``, as ESP-AT serves a page from its
file system. Other files in that folder (style sheets, scripts, pictures) are served by
their path through aiohttp's static resource, which does not follow symbolic links out
of the root and never serves anything outside it. On top of it: hidden files (a path
segment starting with ``.``) and folders are not found, a missing file is the server's
ordinary 404 (so the captive portal turns it into its redirect), and script and font
types are named as browsers expect them today whatever Python's table says. Files are
read at each request (``Cache-Control: no-cache``), so a web developer sees an edit on
the next reload.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from aiohttp import web
from aiohttp.typedefs import Handler

from .wire import error

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
FILE_ROUTE = "page-file"  # the name of the static resource in the router
# Types whose registered name changed after Python 3.11's table was written (RFC 9239
# for scripts); every other type comes from aiohttp's table.
_CURRENT_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".woff2": "font/woff2"}


def add_page(app: web.Application, root: Path | None) -> Path:
    """Serve the page from ``root`` (default: ours); returns the resolved root. Call it
    after the API routes: they win over files of the same name."""
    folder = (root or STATIC_DIR).resolve()
    app.router.add_get("/", _index_handler(folder))
    app.router.add_static("/", folder, name=FILE_ROUTE, follow_symlinks=False)
    return folder


def _index_handler(root: Path) -> Handler:
    async def index(request: web.Request) -> web.StreamResponse:
        """The page itself. A missing index is the server's fault: 500, as on a module
        whose file system lacks it."""
        path = root / INDEX
        if not path.resolve().is_relative_to(root) or not path.is_file():
            return error(500, f"{INDEX} is missing from the web root")
        response = web.FileResponse(path)
        response.headers["Content-Type"] = "text/html"
        response.headers["Cache-Control"] = "no-cache"
        return response

    return index


def is_file_request(request: web.Request) -> bool:
    """Whether the router gave ``request`` to the static resource."""
    return request.match_info.route.name == FILE_ROUTE


def hidden(request: web.Request) -> bool:
    """Whether a file request names a hidden file or folder (never served)."""
    return any(part.startswith(".") for part in request.match_info["filename"].split("/"))


def finish_file(root: Path, request: web.Request, response: web.StreamResponse) -> bool:
    """Complete the static resource's answer for ``request``: its type and cache rule.
    ``False`` when there is no such file (the caller answers 404)."""
    if not (root / request.match_info["filename"]).is_file():
        return False
    suffix = PurePosixPath(request.path).suffix.lower()
    if suffix in _CURRENT_TYPES:
        response.headers["Content-Type"] = _CURRENT_TYPES[suffix]
    response.headers["Cache-Control"] = "no-cache"
    return True
