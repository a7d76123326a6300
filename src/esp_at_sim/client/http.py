"""The HTTP side of the client: one aiohttp session that answers in status and JSON, and
turns network trouble into :class:`HttpApiError`. :class:`~.web.WebApi` (the module's
web server) and :class:`~.control.SimControl` (a simulator's control API) are built on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp

from .errors import AtClientError

REQUEST_TIMEOUT = 10.0  # seconds to connect, and between two reads of one answer


class HttpApiError(AtClientError):
    """An HTTP API could not be reached, or refused a request."""


def base_url(url: str) -> str:
    """``URL`` as the root of a server: ``http://HOST[:PORT]`` (``http://`` may be left
    out; a path, query or fragment is dropped). :class:`ValueError` for anything else."""
    text = url if "://" in url else f"http://{url}"
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http:// URL: {url}")
    return f"http://{parts.netloc}"


class HttpSession:
    """One aiohttp session on the server at ``base`` (``http://HOST:PORT``).

    ``read_timeout`` bounds each wait for data of an answer, ``total`` the whole request
    (``None``: no bound, for a long upload); ``headers`` go with every request.
    """

    def __init__(
        self,
        base: str,
        *,
        read_timeout: float = REQUEST_TIMEOUT,
        total: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=min(REQUEST_TIMEOUT, read_timeout), sock_read=read_timeout
        )
        self._session = aiohttp.ClientSession(timeout=timeout, headers=dict(headers or {}))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()

    def unreachable(self, reason: str) -> HttpApiError:
        """The error for a server that did not answer; subclasses name their server."""
        return HttpApiError(f"no answer from {self.base} ({reason})")

    async def request(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """Send one request (aiohttp's ``json=``, ``data=``, ``headers=``…); the status and
        the answer's JSON object (``None`` when the answer is not a JSON object).
        :meth:`unreachable` when the server cannot be reached or stops answering."""
        try:
            async with self._session.request(method, self.base + path, **kwargs) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self.unreachable(str(exc) or type(exc).__name__) from exc
        try:
            data = json.loads(raw)
        except ValueError:
            return response.status, None
        return response.status, data if isinstance(data, dict) else None
