"""One router per resource.

Handlers are ``async def`` and hand their database work to the database's request threads
(``Database.run_read``, ``run_write``, ``run_statement``): the drivers are synchronous and
SQLite writers queue on a file lock, so the event loop never runs a statement. The hand-over is
asyncio's executor, not FastAPI's plain-``def`` handlers on anyio's threads, which cost four
times the CPU per request under load.
"""
