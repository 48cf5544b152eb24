"""`stagecoach serve` in-process: what it starts when the web server cannot listen."""

from __future__ import annotations

import signal
import socket

import gunicorn.sock
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from gunicorn.arbiter import Arbiter

from stagecoach.web.management.commands import serve

# Gunicorn's arbiter installs its own handlers; put the test process's back after.
SIGNALS = [*Arbiter.SIGNALS, signal.SIGCHLD]


@pytest.mark.django_db
def test_a_server_that_loses_its_port_starts_nothing_and_says_why(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    started: list[str] = []
    stopped: list[str] = []
    # The port was free when checked and taken a moment later, before gunicorn bound it.
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve._Background, "start", lambda self: started.append("start"))
    monkeypatch.setattr(serve._Background, "stop", lambda self: stopped.append("stop"))
    monkeypatch.setattr(gunicorn.sock.time, "sleep", lambda seconds: None)  # its retries
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = int(taken.getsockname()[1])
            with pytest.raises(CommandError, match=f"127.0.0.1:{port} stopped"):
                call_command("serve", "--port", str(port), "--workers", "1", "--local")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert started == [], "the worker and scheduler started without a web server"
    assert stopped, "serve did not make sure its background processes were stopped"


def test_a_port_in_use_is_named_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(CommandError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve.check_port_free("127.0.0.1", port)
    serve.check_port_free("127.0.0.1", port)  # free again once closed
