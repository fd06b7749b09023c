"""One router per resource.

API handlers are ``async def`` and call the database synchronously: a statement here takes
well under a few milliseconds, less than the worker-thread hop FastAPI makes for a ``def``
handler (the hop cost a third of the list endpoint's throughput). On SQLite, writers queue on
the database's ``WriteGate`` and are woken as soon as it is free, so a write waits for the one
before it, not for SQLite's polling sleeps. Readiness and the cron routes, which may wait on an
unreachable database or scan many rows, stay ``def`` and run in the thread pool.
"""
