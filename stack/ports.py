"""Loopback port helpers shared by the embedded services."""

from __future__ import annotations

import socket
import time


class PortTaken(RuntimeError):
    """A port the stack wants is already used by another program."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def ensure_port_free(port: int, service: str) -> None:
    if port_is_open(port):
        raise PortTaken(
            f"Port {port} is already in use, so {service} cannot start there. "
            f"Stop the program using it or pick another port "
            f"(STOCKROOM_PG_PORT / STOCKROOM_KAFKA_PORT)."
        )


def wait_for_port(port: int, timeout: float, is_alive=lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(port):
            return True
        if not is_alive():
            return False
        time.sleep(0.05)
    return False
