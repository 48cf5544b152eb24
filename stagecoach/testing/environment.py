"""Environment for the test run, loaded as a pytest plugin before Django's settings.

Settings read the environment once, at import; pytest-django imports them before any
conftest runs, so this module is named with ``-p`` in the pytest options.
"""

import os
import tempfile

# A data folder of each test process's own, whatever the shell says: the file cache in
# it holds progress and heartbeat keys by run id, and run ids repeat across parallel
# workers, each with its own test database. The same goes for a shared Redis cache.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["STAGECOACH_DATA_DIR"] = tempfile.mkdtemp(prefix=f"stagecoach-test-{_worker}-")
os.environ.pop("CACHE_URL", None)
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
