"""docs/openapi.yaml against the server: every route documented with its methods, and live
answers (status, content type, JSON body) matching what the document says."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from esp_at_sim.flash.image import build_app_image
from esp_at_sim.web.server import ROUTES

from .conftest import MakeWeb
from .helpers import ROOT, Web

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        target: Any = SPEC
        for part in path:
            target = target[part]
        node = target
    return node


def check(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """A small JSON Schema check for the keywords the document uses."""
    schema = resolve(schema)
    if value is None and schema.get("nullable"):
        return
    kind = schema.get("type")
    if kind is not None:
        ok = isinstance(value, _TYPES[kind]) and not (kind == "integer" and isinstance(value, bool))
        assert ok, f"{where}: {value!r} is not {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{where}: {value!r} !~ {schema['pattern']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{where}: {value!r} < {schema['minimum']}"
    if "maxLength" in schema:
        assert len(value) <= schema["maxLength"], f"{where}: too long"
    if kind == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            assert key in value, f"{where}: {key} missing"
        extra_schema = schema.get("additionalProperties")
        if extra_schema is False:
            extra = set(value) - set(props)
            assert not extra, f"{where}: unexpected {sorted(extra)}"
        elif isinstance(extra_schema, dict):
            for key in set(value) - set(props):
                check(value[key], extra_schema, f"{where}.{key}")
        for key, sub in props.items():
            if key in value:
                check(value[key], sub, f"{where}.{key}")
    if kind == "array":
        if "maxItems" in schema:
            assert len(value) <= schema["maxItems"], f"{where}: too many items"
        for index, item in enumerate(value):
            check(item, schema.get("items", {}), f"{where}[{index}]")


def conforms(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    operation = SPEC["paths"][path][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: {status} is not documented"
    response = resolve(responses[str(status)])
    content = response.get("content", {})
    assert content_type in content, f"{method} {path} {status}: {content_type} not documented"
    if content_type == "application/json":
        check(json.loads(body), content[content_type]["schema"], f"{method} {path} {status}")


def test_every_route_is_documented_with_its_methods() -> None:
    assert SPEC["openapi"].startswith("3.")
    documented = {path: set(ops) for path, ops in SPEC["paths"].items()}
    expected = {path: {m.lower() for m in methods} for path, methods in ROUTES.items()}
    expected["/"] = {"get"}
    assert documented == expected


def test_every_reference_resolves_and_every_response_is_described() -> None:
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path}"
            for status, response in op["responses"].items():
                response = resolve(response)
                assert response["description"], f"{method} {path} {status}"
                for media in response.get("content", {}).values():
                    resolve(media["schema"])


def test_the_checker_rejects_what_does_not_match() -> None:
    with pytest.raises(AssertionError):
        conforms("GET", "/getstainfo", 200, "application/json", b'{"state":0}')
    with pytest.raises(AssertionError):
        conforms("GET", "/getversion", 404, "application/json", b"{}")
    with pytest.raises(AssertionError):
        conforms("GET", "/getotainfo", 200, "application/json", b'{"state":0,"fw_version":1}')
    with pytest.raises(AssertionError):
        check({"state": 0, "extra": 1}, {"$ref": "#/components/schemas/Ok"})


async def call(web: Web, method: str, path: str, body: bytes | None = None, **headers: str) -> None:
    async with web.session.request(
        method, web.to(path), data=body, headers=headers, allow_redirects=False
    ) as r:
        data = await r.read()
        conforms(method, path, r.status, r.headers["Content-Type"], data)


async def test_live_answers_match_the_document(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    for path in ("/", "/getversion", "/getstainfo", "/getaprecord", "/getotainfo"):
        await call(web, "GET", path)
    creds = b'{"ssid":"HomeNet","password":"wrong-one"}'
    await call(web, "POST", "/setstainfo", b"not json")
    await call(web, "POST", "/setstainfo", b"x" * 400)
    await call(web, "POST", "/setstainfo", creds, Origin="http://evil.example")
    await call(web, "POST", "/setstainfo", creds)
    await web.outcome()
    await call(web, "GET", "/getstainfo")  # connect fail, with a reason
    await call(web, "POST", "/getresult", b"nothing")
    await call(web, "POST", "/getresult", b"received=1")
    image = build_app_image("v4.2.0.0", chip="esp32")
    await call(web, "POST", "/setotadata", image)
    await call(web, "POST", "/setotadata", b"\x00" * 64, Object="ota")
    await call(web, "POST", "/setotadata", image, Object="ota")
    await call(web, "POST", "/setotadata", image, Object="ota", Origin="null")
    await call(web, "POST", "/setotadata", b"raw", Object="fs_storage")
