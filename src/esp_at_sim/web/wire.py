"""The bytes of the web API: JSON answers written the firmware's way, and request bodies
read within limits.

The firmware writes its answers with format strings, not with a JSON library, and clients
written against it may compare bytes. So the bodies are assembled here the same way:
fixed key order, no spaces (except in the two one-word answers, which carry one), and
strings escaped as the firmware escapes them: a backslash before ``\\``, ``"`` and
``/``. Unlike the firmware we also escape control characters (``\\u00XX``), so the answer
is valid JSON whatever bytes an SSID holds; bytes that are not UTF-8 become U+FFFD, the
character a browser would show for them anyway.

Bodies are read whole only by endpoints that take small ones, and only below a limit
checked against ``Content-Length`` before reading (and while reading a chunked body).
Form arguments (``received=1``) are looked up the firmware's way: a name followed by
``=`` at the start of the body or right after an ``&``; the value is not URL-decoded.
"""

from __future__ import annotations

from aiohttp import web

JSON_TYPE = "application/json"
OK_BODY = b'{"state": 0}'
FAIL_BODY = b'{"state": 1}'

_ESCAPED = {"\\": "\\\\", '"': '\\"', "/": "\\/"}


def json_string(raw: bytes | str) -> str:
    """The inside of a JSON string literal for ``raw`` (no surrounding quotes)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    out: list[str] = []
    for char in text:
        if char in _ESCAPED:
            out.append(_ESCAPED[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def quoted(raw: bytes | str) -> str:
    """A complete JSON string literal for ``raw``."""
    return f'"{json_string(raw)}"'


def json_response(body: bytes | str, status: int = 200, reason: str | None = None) -> web.Response:
    """A response carrying ``body`` as ``application/json`` (exactly that type, without a
    charset parameter, as the firmware sends it)."""
    data = body.encode() if isinstance(body, str) else body
    return web.Response(body=data, status=status, reason=reason, content_type=JSON_TYPE)


def ok() -> web.Response:
    """``200 {"state": 0}``."""
    return json_response(OK_BODY)


def fail(status: int) -> web.Response:
    """``{"state": 1}`` with ``status`` (400, 409, 500...)."""
    return json_response(FAIL_BODY, status)


def error(status: int, message: str) -> web.Response:
    """Our own refusals (where the firmware has none): ``{"state": 1}`` plus an
    ``error`` text saying what was wrong."""
    return json_response(f'{{"state": 1, "error": {quoted(message)}}}', status)


class BadRequest(ValueError):
    """A body the endpoint refuses (answered 400)."""


class BodyTooLarge(Exception):
    """A request body reached the endpoint's limit."""


async def read_limited(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, which must be shorter than ``limit`` bytes. A declared length
    is checked before anything is read; a chunked body is cut off as soon as it gets
    there. Raises :class:`BodyTooLarge`, or :class:`BadRequest` for a body that breaks
    off (the client went away, or sent bad chunks)."""
    declared = request.content_length
    if declared is not None and declared >= limit:
        raise BodyTooLarge(f"{declared} bytes")
    body = bytearray()
    while True:
        try:
            chunk = await request.content.readany()
        except Exception as exc:  # a lost connection, aiohttp's payload errors
            raise BadRequest("the body broke off") from exc
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) >= limit:
            raise BodyTooLarge(f"over {limit - 1} bytes")


def form_arg(body: bytes, name: str) -> bytes | None:
    """The raw value of argument ``name`` in an ``a=1&b=2`` body, or ``None``."""
    key = name.encode() + b"="
    for segment in body.split(b"&"):
        head = segment.split(b"\r", 1)[0].split(b"\n", 1)[0]
        if head.startswith(key):
            return head[len(key) :]
    return None
