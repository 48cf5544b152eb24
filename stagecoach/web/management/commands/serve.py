from __future__ import annotations

import errno
import logging
import os
import socket
import subprocess
import sys
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication

from stagecoach.cli import DATABASE_SHOWN, QUIET
from stagecoach.lib.env import ConfigError, require_secret_key
from stagecoach.web.integrity import check_database

logger = logging.getLogger("stagecoach.serve")


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from stagecoach.wsgi import application

        return application


BACKGROUND = {
    "background worker": [
        "db_worker",
        "--queue-name",
        "*",
        "--no-reload",
        "--no-startup-delay",
    ],
    # Queues the weekly digest and the daily scheduling, and marks failed the work of
    # processes that died; several servers may each run one, since every job claims its
    # period in the database first.
    "scheduler": ["scheduler"],
}
RESTART_AFTER = 5.0


def check_port_free(host: str, port: int) -> None:
    """Stop with the port named when the web server could not listen on it.

    Checked before anything starts: gunicorn would retry for seconds and then exit,
    and the worker and scheduler must not run without the web server.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise CommandError(f"Not serving: cannot listen on {host}: {exc.strerror}.") from None
    with socket.socket(family, kind, proto) as probe:
        # As gunicorn binds: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = (
                "already in use (another server, or stagecoach already running?)"
                if exc.errno == errno.EADDRINUSE
                else f"not available ({exc.strerror})"
            )
            raise CommandError(
                f"Not serving: port {port} on {host} is {reason}. "
                f"Stop what uses it, or choose another port with --port "
                f"(make demo PORT=8101)."
            ) from None


class _Background:
    """The worker and the scheduler beside the web server, started again when they stop.

    The worker exits when the database goes away, even for the second a restart takes,
    and may be killed (out of memory); without this the app would go on taking uploads
    that nothing ever imports.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        # Quiet (the demo): only warnings, so the logins stay the last lines printed.
        self.quiet = quiet
        self.verbosity = "0" if quiet else "1"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="background", daemon=True)

    def start(self) -> None:
        for name in BACKGROUND:
            self.processes[name] = self._spawn(name)
        self.watcher.start()

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "stagecoach.cli",
            *BACKGROUND[name],
            "--verbosity",
            self.verbosity,
        ]
        # The server already said which database it uses.
        environ = {**os.environ, DATABASE_SHOWN: "1"}
        if self.quiet:
            environ[QUIET] = "1"
        return subprocess.Popen(command, env=environ)  # noqa: S603 (fixed arguments)

    def _watch(self) -> None:
        while not self.stopping.wait(RESTART_AFTER):
            for name, process in list(self.processes.items()):
                if process.poll() is not None and not self.stopping.is_set():
                    logger.warning(
                        "the %s stopped (exit status %s); starting it again",
                        name,
                        process.returncode,
                    )
                    self.processes[name] = self._spawn(name)

    def stop(self) -> None:
        self.stopping.set()
        if self.watcher.is_alive():
            self.watcher.join()
        running = [p for p in self.processes.values() if p.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class Command(BaseCommand):
    # The demo's logins: printed once the server listens and the rest has started.
    stealth_options = ("ready_message",)
    help = (
        "Serve the web app with gunicorn (a production WSGI server) and run the "
        "background worker and the job scheduler beside it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", 0)) or None,
            help="Web worker processes (default: cores + 1, or WEB_CONCURRENCY).",
        )
        parser.add_argument(
            "--threads", type=int, default=4, help="Threads per worker (default 4)."
        )
        parser.add_argument(
            "--local",
            action="store_true",
            help="Local use (the demo): accept the secret key generated in the data folder.",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help=(
                "Do not start the background worker and scheduler (when they run elsewhere: "
                "`stagecoach db_worker`, `stagecoach scheduler`)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        check_port_free(host, port)
        if not options["local"]:
            try:
                require_secret_key(
                    "SECRET_KEY", generated=settings.SECRET_KEY_GENERATED, debug=settings.DEBUG
                )
            except ConfigError as exc:
                raise CommandError(str(exc)) from None
        # A damaged file served would turn every page into an error and every write into
        # a risk; say how to recover instead.
        verdict = check_database(quick=True)
        if not verdict.ok:
            raise CommandError(f"Not serving: {verdict.summary()}")
        self._check_migrations()
        workers = options["workers"] or (os.cpu_count() or 1) + 1
        background = _Background(quiet=options["local"])
        ready_message = options.get("ready_message")

        # Started once the web server listens (not before: a server that cannot bind
        # would leave them running, and sending the digest), and stopped with it.
        def start_worker(server: Any) -> None:
            if not options["no_worker"]:
                background.start()
            if ready_message:
                self.stdout.write(ready_message)
                self.stdout.flush()

        def stop_worker(server: Any) -> None:
            background.stop()

        self.stdout.write(
            f"Serving stagecoach on http://{host}:{port}/ "
            f"({workers} workers × {options['threads']} threads). Stop with Ctrl+C."
        )
        self.stdout.flush()
        server = _Server(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": options["threads"],
                "worker_class": "gthread",
                "timeout": 120,
                "graceful_timeout": 30,
                "accesslog": "-",
                "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
                "when_ready": start_worker,
                "on_exit": stop_worker,
                # The demo: gunicorn's start-up lines would bury the logins.
                "loglevel": "warning" if options["local"] else "info",
                # Several servers may run on one machine (tests, staging beside production);
                # a shared control socket in $HOME would have them fight over it.
                "control_socket_disable": True,
            }
        )
        arbiter = os.getpid()  # gunicorn's forked web workers leave through here too
        try:
            server.run()
        except SystemExit as exc:
            if os.getpid() != arbiter or exc.code in (None, 0):
                raise
            raise CommandError(
                f"The web server on {host}:{port} stopped (exit status {exc.code}); "
                "the background worker and scheduler were stopped with it."
            ) from None
        finally:
            # Whatever ended the web server, nothing it started keeps running.
            if os.getpid() == arbiter:
                background.stop()

    def _check_migrations(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"The database needs {len(pending)} migration(s). Run `stagecoach migrate` first."
            )
