"""The analytics engine: pure functions over Polars frames. No Django, no I/O.

``analytics/loading.py`` reads the database into the frames described in
``frames.py``; ``analytics/services.py`` calls ``compute`` and stores the results.
"""
