"""HTTP fuzzing of a module in a child process against ``docs/openapi.yaml``, with
schemathesis: requests that fit the document and requests that do not. No 5xx except
where web-server.md specifies a 500 (``/setstainfo`` or ``/getresult`` with a body of 320
bytes or more, ``/getaprecord`` without a scan result, a failed ``/setotadata``); every
answer has a documented status and content type, and every JSON answer parses and
conforms to its schema. A second fuzzer sends arbitrary methods, paths and headers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")  # a test dependency (pyproject: [test])
requests = pytest.importorskip("requests")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from esp_at_sim.web.server import ROUTES  # noqa: E402

from .simproc import ROOT, SimProcess  # noqa: E402

SCHEMA = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.yaml"))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CASES = st.one_of(*[op.as_strategy(mode) for op in OPERATIONS for mode in GenerationMode])
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
BODY_LIMIT = 320
EXAMPLES = int(os.environ.get("ESP_AT_SIM_FUZZ_EXAMPLES", "150"))
OBJECTS = st.sampled_from(["ota", "ota_1", "fs_storage", "mfg_nvs", "nvs", ""])


def server_error_allowed(method: str, path: str, body: bytes) -> bool:
    """Where web-server.md (and the OpenAPI document) specify a 500."""
    if path in ("/setstainfo", "/getresult"):
        return len(body) >= BODY_LIMIT
    return (method, path) in (("GET", "/getaprecord"), ("POST", "/setotadata"))


def sent_body(prepared: Any) -> bytes:
    body = prepared.body
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else bytes(body)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    proc = SimProcess(tmp_path_factory.mktemp("http-fuzz"))
    try:
        yield proc
        proc.at_ok_within(2.0)
    finally:
        status = proc.stop()
    assert status == 0, proc.stderr()
    assert "Traceback" not in proc.stderr(), proc.stderr()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(case=CASES, data=st.data())
def test_api_against_the_openapi_document(sim: SimProcess, case: Any, data: st.DataObject) -> None:
    if case.path == "/setotadata" and data.draw(st.booleans()):
        case.headers = {**(case.headers or {}), "Object": data.draw(OBJECTS)}
    with requests.Session() as session:
        response = case.call(base_url=sim.url, session=session, timeout=10)
    body = sent_body(response.request)
    status = response.status_code
    if status >= 500:
        assert server_error_allowed(case.method, case.path, body), (
            f"{case.method} {case.path} -> {status} for {body[:80]!r}"
        )
    if response.headers.get("Content-Type") == "application/json":
        json.loads(response.content)
    case.validate_response(response, checks=CHECKS)


METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
PATHS = st.sampled_from(
    ["/", "/getstainfo", "/setstainfo", "/getresult", "/getotainfo", "/setotadata", "/x"]
) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
    lambda p: "/" + p.lstrip("/")
)
HEADER_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(
    method=METHODS,
    path=PATHS,
    headers=st.dictionaries(
        st.sampled_from(["Origin", "Object", "Content-Type", "Host", "X-Any", "Accept"]),
        HEADER_VALUES,
        max_size=4,
    ),
    body=st.none() | st.binary(max_size=600),
)
def test_any_request_gets_an_answer_of_ours(
    sim: SimProcess, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> None:
    try:
        with requests.Session() as session:
            response = session.request(
                method,
                sim.url + path,
                headers=headers,
                data=body,
                timeout=10,
                allow_redirects=False,
            )
    except requests.exceptions.InvalidHeader:
        return  # the client library refused to send it
    status = response.status_code
    route = path.split("?", 1)[0]
    if status >= 500:
        assert server_error_allowed(method, route, body or b""), (method, path, status)
    if status == 302:
        assert response.headers["Location"].startswith("http://")
    elif method != "HEAD" and (status != 200 or route in ROUTES):
        assert response.headers["Content-Type"] == "application/json", (method, path)
        assert isinstance(json.loads(response.content), dict)
