"""One router per resource.

Handlers are ``async def`` and call the database synchronously: a query here takes well under
a few milliseconds, less than the worker-thread hop FastAPI makes for a ``def`` handler (the
hop cost a third of the list endpoint's throughput). Readiness and the cron routes, which may
wait on an unreachable database or scan many rows, stay ``def`` and run in the thread pool.
"""
