"""What the control API checks before it acts: who may ask (the token, the Origin) and
what a fault's arguments may be (taken from the fault's own signature). Every refusal,
aiohttp's own included (404, 405, 413), is a JSON ``{"ok": false, "error": "…"}``."""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..device.faults import FAULT_NAMES, Faults

BODY_LIMIT = 64 * 1024  # bytes: a fault's arguments are a few dozen


def json_response(data: object, status: int = 200, **kwargs: Any) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=str),
        status=status,
        content_type="application/json",
        **kwargs,
    )


class Refused(web.HTTPException):
    """A request refused with ``status`` and a JSON error."""

    def __init__(self, status: int, error: str, **kwargs: Any) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps({"ok": False, "error": error}),
            content_type="application/json",
            **kwargs,
        )


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (an IPv6 address in brackets)."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Guard:
    """The access rules of one control server."""

    def __init__(self, token: str, public: Callable[[web.Request], bool] | None = None) -> None:
        self._token = token.encode()
        self._public = public or (lambda request: False)
        self._origins: frozenset[str] = frozenset()

    def allow_origins(self, host: str, port: int) -> None:
        """The server listens on ``host``:``port``: that is the only Origin it takes
        (on loopback, under each of its loopback names)."""
        names = {url_host(host)}
        if _is_loopback(host):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        self._origins = frozenset(f"http://{name}:{port}" for name in names)

    def middlewares(self) -> list[Middleware]:
        @web.middleware
        async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refused:
                raise
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
                error = {"ok": False, "error": exc.reason}
                return json_response(error, exc.status, headers=headers)

        @web.middleware
        async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if origin is not None and origin.lower().rstrip("/") not in self._origins:
                raise Refused(403, f"requests from web pages are refused (Origin: {origin})")
            return await handler(request)

        @web.middleware
        async def token(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self._public(request):
                return await handler(request)
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                raise Refused(
                    401,
                    "a missing or wrong token: send 'Authorization: Bearer TOKEN' with the "
                    "token 'run' printed",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return await handler(request)

        return [json_errors, same_origin, token]


# ------------------------------------------------------------------- arguments
async def fault_arguments(request: web.Request, faults: Faults, name: str) -> dict[str, object]:
    """The body of ``POST /faults/<name>`` as keyword arguments the fault takes, each of
    the type its signature names; :class:`Refused` (400, 413, 415) otherwise."""
    if name not in FAULT_NAMES:
        raise Refused(400, f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    args: object = {}
    if request.body_exists:
        if request.content_type != "application/json":
            raise Refused(415, "the body must be JSON (Content-Type: application/json)")
        raw = await request.read()
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise Refused(400, "the body is not JSON") from None
    if not isinstance(args, dict):
        raise Refused(400, "the body must be a JSON object of the fault's arguments")
    method = getattr(faults, name)
    params = inspect.signature(method).parameters
    hints = typing.get_type_hints(method)
    for key, value in args.items():
        if key not in params:
            takes = ", ".join(params) or "nothing"
            raise Refused(400, f"{name} takes no argument {key!r} (it takes: {takes})")
        if not _accepts(hints[key], value):
            shown = json.dumps(value)[:40]
            raise Refused(400, f"{name}: {key} must be {_describe(hints[key])}, not {shown}")
    missing = [p for p in params if params[p].default is inspect.Parameter.empty]
    missing = [p for p in missing if p not in args]
    if missing:
        raise Refused(400, f"{name} needs {', '.join(missing)}")
    return args


_WORDS: dict[object, str] = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    type(None): "null",
}


def _options(hint: object) -> tuple[object, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _accepts(hint: object, value: object) -> bool:
    for option in _options(hint):
        if option is bool or option is type(None) or option is str:
            if type(value) is option:
                return True
        elif option is int and type(value) is int:  # not a bool, not a float
            return True
    return False


def _describe(hint: object) -> str:
    return " or ".join(_WORDS.get(option, str(option)) for option in _options(hint))
