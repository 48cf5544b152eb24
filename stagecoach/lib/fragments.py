"""Rendered page parts kept while the stored results they show are unchanged.

A page that shows stored results (computed in the background when their inputs change)
renders the same HTML for everyone who sees the same rows, until the results are
computed again. The key names everything the part depends on, the results' version
included, so a new computation is a new key and nothing is ever invalidated by hand;
old parts expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

# Long enough to serve a Monday morning from one rendering, short enough that a part no
# longer asked for does not linger.
SECONDS = 6 * 60 * 60


def key(name: str, *parts: object, ids: Iterable[int] = ()) -> str:
    """A cache key for the part ``name`` of these inputs and these visible ids."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    digest.update(",".join(str(i) for i in ids).encode())
    return f"fragment:{name}:{digest.hexdigest()[:32]}"


def cached(cache_key: str, render: Callable[[], str]) -> SafeString:
    """The part stored under ``cache_key``, rendered and kept when it is not there.

    ``render`` returns HTML that a template rendered (escaped where it had to be), so
    the part goes into the page as it is."""
    html = cache.get(cache_key)
    if not isinstance(html, str):
        html = str(render())
        cache.set(cache_key, html, SECONDS)
    return mark_safe(html)  # noqa: S308 - a template's own output, escaped when rendered
