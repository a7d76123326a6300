"""The README's fleet examples run as a user runs them, with a small fleet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_provisioning_line_gets_every_module_an_address() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "provisioning_line.py"), "--count", "5"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("5 of 5 modules got an IP address\n")


def test_provisioning_line_fails_with_a_wrong_password() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "provisioning_line.py"), "--count", "2",
         "--password", "not-the-password"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr.decode()
    assert result.stdout.decode().startswith("0 of 2 modules got an IP address\n")


def test_modules_connect_to_a_local_server_at_once() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "fleet_tcp_clients.py"), "--count", "5"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith(
        "5 of 5 modules got their answer; 5 connections were open at once;"
    )
