"""The esp_serve fixture cleans up after handlers that leave their connection open."""

from __future__ import annotations

import pytest


def test_esp_serve_closes_the_connections_a_handler_left_open(pytester: pytest.Pytester) -> None:
    """A handler that never closes its connection: after the test, the fixture closes it
    (the handler sees the end of its stream), and the next test starts clean."""
    pytester.makepyfile(
        """
        import asyncio

        SEEN = []

        async def hold(reader, writer):
            SEEN.append("open")
            SEEN.append(await reader.read())  # until the connection goes

        async def test_leaves_a_connection_open(esp_at, esp_serve):
            await esp_serve(hold, "api.example.com", 80)
            await esp_at.set_cwjap("HomeNet", "sunflower42")
            await esp_at.open_tcp("api.example.com", 80)
            for _ in range(1000):
                if SEEN:
                    break
                await asyncio.sleep(0.005)
            assert SEEN == ["open"]

        def test_the_fixture_closed_it():
            assert SEEN == ["open", b""]
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-W", "error::ResourceWarning",
        "-o", "asyncio_default_fixture_loop_scope=function", timeout=120,
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert "unclosed" not in result.stderr.str() + result.stdout.str()
