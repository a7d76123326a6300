"""HTTP behaviour around the endpoints: captive redirects and probes, unknown targets
without the portal, long URIs, the same-origin rule, malformed requests, phones joining,
headers, and the event log."""

from __future__ import annotations

import asyncio
import json

import pytest

from esp_at_sim.core.events import Event

from .conftest import MakeWeb
from .helpers import Web, raw_request

PROBES = [
    "/generate_204",
    "/gen_204",
    "/hotspot-detect.html",
    "/library/test/success.html",
    "/connecttest.txt",
    "/ncsi.txt",
    "/redirect",
    "/success.txt",
    "/canonical.html",
]


@pytest.mark.parametrize("path", PROBES)
async def test_os_probes_lead_to_the_page(web: Web, path: str) -> None:
    async with web.session.get(web.to(path), allow_redirects=False) as r:
        assert r.status == 302
        assert r.reason == "Temporary Redirect"
        assert r.headers["Location"] == web.url
        assert r.headers["Content-Type"] == "text/html"
        assert await r.read()  # iOS needs a body
    async with web.session.get(web.to(path)) as r:  # following it gives the page
        assert r.status == 200 and r.headers["Content-Type"] == "text/html"


async def test_probe_for_another_site_redirects_to_our_address(web: Web) -> None:
    port = web.server.http_port
    assert port is not None
    request = b"GET /generate_204 HTTP/1.1\r\nHost: connectivitycheck.gstatic.com\r\n\r\n"
    status, headers, _ = await raw_request(port, request)
    assert status == 302 and headers["location"] == f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize("host", ["localhost:1234", "192.168.4.1", "[::1]:8080"])
async def test_redirect_keeps_an_address_host(web: Web, host: str) -> None:
    port = web.server.http_port
    assert port is not None
    status, headers, _ = await raw_request(
        port, f"GET /nope HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    )
    assert status == 302 and headers["location"] == f"http://{host}/"


async def test_wrong_method_and_long_uri_redirect(web: Web) -> None:
    async with web.session.post(web.to("/getstainfo"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == web.url
    async with web.session.delete(web.to("/"), allow_redirects=False) as r:
        assert r.status == 302
    assert (await web.get("/" + "a" * 600))[0] == 302


async def test_without_portal_errors_are_json(make_web: MakeWeb) -> None:
    web = await make_web(captive_portal=False)
    status, body = await web.get("/generate_204")
    assert (status, json.loads(body)) == (404, {"state": 1, "error": "not found"})
    async with web.session.post(web.to("/getstainfo")) as r:
        assert r.status == 405 and r.headers["Content-Type"] == "application/json"
        assert json.loads(await r.read())["state"] == 1
    async with web.session.post(web.to("/")) as r:
        assert r.status == 405
    status, body = await web.get("/getstainfo?" + "x" * 600)
    assert status == 414 and json.loads(body)["error"] == "URI too long"


async def test_query_strings_are_ignored(web: Web) -> None:
    assert await web.get("/getversion?t=1234") == (200, b'{"version":"1.0"}')


async def test_percent_encoded_paths_do_not_match(make_web: MakeWeb) -> None:
    web = await make_web(captive_portal=False)
    port = web.server.http_port
    assert port is not None
    request = b"GET /getversio%6E HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert (await raw_request(port, request))[0] == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/setstainfo", b'{"ssid":"HomeNet","password":"sunflower42"}'),
        ("/getresult", b"received=1"),
        ("/setotadata", b"\xe9" * 16),
    ],
)
@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1", "null"]
)
async def test_cross_origin_posts_are_refused(
    web: Web, path: str, body: bytes, origin: str
) -> None:
    headers = {"Origin": origin, "Object": "ota"}
    async with web.session.post(web.to(path), data=body, headers=headers) as r:
        assert r.status == 403
        assert r.headers["Content-Type"] == "application/json"
        assert json.loads(await r.read()) == {"state": 1, "error": "cross-origin request refused"}
    assert web.server.provisioning.credentials is None
    assert await web.at.settle() == b""


async def test_same_origin_post_is_accepted(web: Web) -> None:
    origin = web.url.rstrip("/")
    body = b'{"ssid":"HomeNet","password":"sunflower42"}'
    assert await web.post("/setstainfo", body, headers={"Origin": origin}) == (
        200,
        b'{"state": 0}',
    )


async def test_origin_check_can_be_turned_off(make_web: MakeWeb) -> None:
    web = await make_web(check_origin=False)
    body = b'{"ssid":"HomeNet","password":"sunflower42"}'
    headers = {"Origin": "http://evil.example"}
    assert await web.post("/setstainfo", body, headers=headers) == (200, b'{"state": 0}')


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /setstainfo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /setstainfo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    ],
)
async def test_malformed_http_gets_a_json_4xx(web: Web, request_bytes: bytes) -> None:
    port = web.server.http_port
    assert port is not None
    status, headers, body = await raw_request(port, request_bytes)
    assert 400 <= status < 500
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["state"] == 1


async def test_a_new_client_is_a_phone_on_the_softap(make_web: MakeWeb) -> None:
    web = await make_web(warm_up=False)
    assert await web.at.settle() == b""
    await web.get("/getversion")
    await web.module.clock.sleep(1)
    assert await web.at.settle() == (
        b'+STA_CONNECTED:"f2:11:22:33:44:55"\r\n+DIST_STA_IP:"f2:11:22:33:44:55","192.168.4.2"\r\n'
    )
    await web.get("/getversion")  # the same client: no new phone
    assert await web.at.settle() == b""
    assert [s.mac for s in web.module.wifi.softap_stations()] == ["f2:11:22:33:44:55"]
    # the phone leaves; its next request brings it back with the same MAC
    web.module.radio.leave_phone("f2:11:22:33:44:55")
    await web.at.settle()
    await web.get("/getversion")
    assert (await web.at.settle()).startswith(b'+STA_CONNECTED:"f2:11:22:33:44:55"')


async def test_station_mode_serves_without_a_phone(make_web: MakeWeb) -> None:
    web = await make_web(mode=1, warm_up=False)
    assert await web.get("/getversion") == (200, b'{"version":"1.0"}')
    assert await web.at.settle() == b""


async def test_json_headers(web: Web) -> None:
    async with web.session.get(web.to("/getstainfo")) as r:
        assert r.headers["Content-Type"] == "application/json"
        assert int(r.headers["Content-Length"]) == len(await r.read())


async def test_every_request_is_an_http_event(web: Web) -> None:
    events: list[Event] = []
    web.module.bus.subscribe(events.append)
    await web.get("/getversion?x=1")
    await web.get("/nothing")
    http = [e.data for e in events if e.kind == "http"]
    assert [(d["method"], d["path"], d["status"]) for d in http] == [
        ("GET", "/getversion", 200),
        ("GET", "/nothing", 302),
    ]
    assert http[0]["client"] == "127.0.0.1"


REBINDING_POSTS = [
    ("/setstainfo", b'{"ssid":"HomeNet","password":"sunflower42"}'),
    ("/getresult", b"received=1"),
    ("/setotadata", b"\xe9" * 16),
]


def post_bytes(path: str, body: bytes, host: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize(("path", "body"), REBINDING_POSTS)
@pytest.mark.parametrize("object_name", ["ota", "fs_storage"])
async def test_dns_rebinding_posts_are_refused(
    make_web: MakeWeb, path: str, body: bytes, object_name: str
) -> None:
    """A page of evil.example whose name now resolves to us: Origin and Host agree."""
    web = await make_web(flash=True)
    port = web.server.http_port
    assert port is not None
    host = f"evil.example:{port}"
    raw = post_bytes(path, body, host, Origin=f"http://{host}", Object=object_name)
    status, headers, answer = await raw_request(port, raw)
    assert (status, headers["content-type"]) == (403, "application/json")
    assert json.loads(answer) == {"state": 1, "error": "request for another host refused"}
    assert web.server.provisioning.credentials is None
    assert await web.at.settle() == b""  # no upload started, no provisioning URC


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:{port}", "127.0.0.1", "localhost", "LocalHost:{port}", "192.168.4.1",
     "192.168.4.1:80", "192.168.4.1:{port}"],
)  # fmt: skip
async def test_posts_to_our_own_addresses_are_accepted(web: Web, host: str) -> None:
    port = web.server.http_port
    assert port is not None
    raw = post_bytes("/getresult", b"received=1", host.format(port=port))
    assert (await raw_request(port, raw))[::2] == (200, b'{"state": 0}')


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:1", "192.168.4.2", "evil.example", "127.0.0.1.nip.io:{port}", "localhost.:{port}",
     "", "[::1]:{port}"],
)  # fmt: skip
async def test_posts_naming_another_host_are_refused(web: Web, host: str) -> None:
    port = web.server.http_port
    assert port is not None
    raw = post_bytes("/getresult", b"received=1", host.format(port=port))
    assert (await raw_request(port, raw))[0] == 403


async def test_reads_and_portal_redirects_ignore_a_foreign_host(web: Web) -> None:
    port = web.server.http_port
    assert port is not None
    get = b"GET /getversion HTTP/1.1\r\nHost: evil.example\r\n\r\n"
    assert (await raw_request(port, get))[::2] == (200, b'{"version":"1.0"}')
    probe = f"GET /generate_204 HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n".encode()
    status, headers, _ = await raw_request(port, probe)
    assert status == 302 and headers["location"] == f"http://127.0.0.1:{port}/"


async def test_host_check_can_be_turned_off(make_web: MakeWeb) -> None:
    web = await make_web(check_host=False)
    port = web.server.http_port
    assert port is not None
    raw = post_bytes("/getresult", b"received=1", "evil.example")
    assert (await raw_request(port, raw))[0] == 200


@pytest.mark.parametrize("target", ["/setstainfo", "/setstainfo?lang=en"])
@pytest.mark.parametrize("expect", [False, True])
async def test_cross_origin_posts_are_refused_whichever_way_they_are_routed(
    web: Web, target: str, expect: bool
) -> None:
    """An API request with its exact target goes straight to its endpoint; one with a
    query string or an ``Expect`` header goes through the router. Both are checked."""
    port = web.server.http_port
    body = b'{"ssid":"HomeNet","password":"sunflower42"}'
    extra = "Expect: 100-continue\r\n" if expect else ""
    head = (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    if expect:
        continued = b"HTTP/1.1 100 Continue\r\n\r\n"
        assert answer.startswith(continued)
        answer = answer[len(continued) :]
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n"), answer
    assert answer.endswith(b'\r\n\r\n{"state": 1, "error": "cross-origin request refused"}')
    assert web.server.provisioning.credentials is None
    assert await web.at.settle() == b""
