"""Environment for the test run, loaded as a pytest plugin before Django's settings.

Settings read the environment once, at import; pytest-django imports them before any
conftest runs, so this module is named with ``-p`` in the pytest options.
"""

import os
import tempfile

os.environ.setdefault("STAGECOACH_DATA_DIR", tempfile.mkdtemp(prefix="stagecoach-test-"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
