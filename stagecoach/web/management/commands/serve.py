from __future__ import annotations

import os
import subprocess
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication

from stagecoach.lib.env import ConfigError, require_secret_key


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
        self._check_migrations()
        workers = options["workers"] or (os.cpu_count() or 1) + 1
        background: list[subprocess.Popen[bytes]] = []

        def start_worker(server: Any) -> None:
            if options["no_worker"]:
                return
            background.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "stagecoach.cli",
                        "db_worker",
                        "--queue-name",
                        "*",
                        "--no-reload",
                        "--no-startup-delay",
                        "--verbosity",
                        "1",
                    ],
                )
            )
            # Queues the weekly digest and the daily scheduling; several servers may each
            # run one, since every job claims its period in the database first.
            background.append(
                subprocess.Popen([sys.executable, "-m", "stagecoach.cli", "scheduler"])
            )

        def stop_worker(server: Any) -> None:
            running = [process for process in background if process.poll() is None]
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

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
