from __future__ import annotations

import logging
import os
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
        "--verbosity",
        "1",
    ],
    # Queues the weekly digest and the daily scheduling, and marks failed the work of
    # processes that died; several servers may each run one, since every job claims its
    # period in the database first.
    "scheduler": ["scheduler"],
}
RESTART_AFTER = 5.0


class _Background:
    """The worker and the scheduler beside the web server, started again when they stop.

    The worker exits when the database goes away, even for the second a restart takes,
    and may be killed (out of memory); without this the app would go on taking uploads
    that nothing ever imports.
    """

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="background", daemon=True)

    def start(self) -> None:
        for name in BACKGROUND:
            self.processes[name] = self._spawn(name)
        self.watcher.start()

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "stagecoach.cli", *BACKGROUND[name]]
        return subprocess.Popen(command)  # noqa: S603 (fixed arguments)

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
        background = _Background()

        def start_worker(server: Any) -> None:
            if not options["no_worker"]:
                background.start()

        def stop_worker(server: Any) -> None:
            background.stop()

        self.stdout.write(
            f"Serving stagecoach on http://{options['host']}:{options['port']}/ "
            f"({workers} workers × {options['threads']} threads). Stop with Ctrl+C."
        )
        self.stdout.flush()
        _Server(
            {
                "bind": f"{options['host']}:{options['port']}",
                "workers": workers,
                "threads": options["threads"],
                "worker_class": "gthread",
                "timeout": 120,
                "graceful_timeout": 30,
                "accesslog": "-",
                "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
                "on_starting": start_worker,
                "on_exit": stop_worker,
                # Several servers may run on one machine (tests, staging beside production);
                # a shared control socket in $HOME would have them fight over it.
                "control_socket_disable": True,
            }
        ).run()

    def _check_migrations(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"The database needs {len(pending)} migration(s). Run `stagecoach migrate` first."
            )
