"""The page: ours from web/static, or --web-root's index.html and the files beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from esp_at_sim.web.page import STATIC_DIR

from .conftest import MakeWeb
from .helpers import Web, raw_request


async def test_our_page_is_served(web: Web) -> None:
    async with web.session.get(web.url) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/html"
        assert await r.read() == (STATIC_DIR / "index.html").read_bytes()


async def test_assets_beside_our_page(web: Web) -> None:
    for asset in sorted(STATIC_DIR.iterdir()):
        if asset.is_file() and not asset.name.startswith("."):
            status, body = await web.get("/" + asset.name)
            assert (status, body) == (200, asset.read_bytes()), asset.name


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>custom</title>")
    (root / "style.css").write_text("body{}")
    (root / "js" / "app.js").write_text("console.log(1)")
    (root / ".secret").write_text("token")
    (tmp_path / "outside.txt").write_text("outside")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    os.symlink(root / "style.css", root / "inside.css")
    return root


async def test_web_root_replaces_the_page(make_web: MakeWeb, site: Path) -> None:
    web = await make_web(web_root=site)
    async with web.session.get(web.url) as r:
        assert r.headers["Content-Type"] == "text/html"
        assert await r.read() == b"<!doctype html><title>custom</title>"
    async with web.session.get(web.to("/style.css")) as r:
        assert r.headers["Content-Type"] == "text/css" and await r.read() == b"body{}"
    async with web.session.get(web.to("/js/app.js")) as r:
        assert r.headers["Content-Type"] == "text/javascript"
    # edits show on the next request
    (site / "index.html").write_text("v2")
    assert await web.get("/") == (200, b"v2")
    # the API still wins over files of the same name
    (site / "getversion").write_text("shadow")
    assert await web.get("/getversion") == (200, b'{"version":"1.0"}')


@pytest.mark.parametrize(
    "target",
    [
        b"/.secret",
        b"/link.txt",
        b"/../outside.txt",
        b"/js/../../outside.txt",
        b"/%2e%2e/x",
        b"/js/",
    ],
)
async def test_nothing_outside_or_hidden_is_served(
    make_web: MakeWeb, site: Path, target: bytes
) -> None:
    web = await make_web(web_root=site, captive_portal=False)
    port = web.server.http_port
    assert port is not None
    status, _, body = await raw_request(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status in (400, 404)
    assert b"outside" not in body and b"token" not in body


async def test_missing_index_is_500(make_web: MakeWeb, tmp_path: Path) -> None:
    web = await make_web(web_root=tmp_path)
    status, body = await web.get("/")
    assert status == 500 and json.loads(body)["state"] == 1


async def test_head_of_the_page(web: Web) -> None:
    async with web.session.head(web.url) as r:
        assert r.status == 200 and await r.read() == b""


async def test_a_link_that_stays_inside_the_root_is_served(make_web: MakeWeb, site: Path) -> None:
    web = await make_web(web_root=site)
    assert await web.get("/inside.css") == (200, b"body{}")


async def test_files_revalidate_on_every_load(make_web: MakeWeb, site: Path) -> None:
    web = await make_web(web_root=site)
    async with web.session.get(web.to("/style.css")) as r:
        assert r.headers["Cache-Control"] == "no-cache"
        etag = r.headers["ETag"]
    async with web.session.get(web.to("/style.css"), headers={"If-None-Match": etag}) as r:
        assert r.status == 304
    (site / "style.css").write_text("body{color:red}")
    async with web.session.get(web.to("/style.css"), headers={"If-None-Match": etag}) as r:
        assert r.status == 200 and await r.read() == b"body{color:red}"


async def test_other_methods_on_any_path_are_405(make_web: MakeWeb, site: Path) -> None:
    """As on the module, whose file handler takes GET for every path."""
    web = await make_web(web_root=site, captive_portal=False)
    for path in ("/style.css", "/no-such-file"):
        async with web.session.put(web.to(path), data=b"x") as r:
            assert r.status == 405
            assert json.loads(await r.read()) == {"state": 1, "error": "method not allowed"}
