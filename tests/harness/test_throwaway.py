"""Throwaway servers of the local target: a Redis killed and started again without losing what
it acknowledged (append-only file, fsync always); a PostgreSQL of its own, removed after."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from harness.targets.throwaway import ThrowawayPostgres, ThrowawayRedis, _postgres_binary
from tests.conftest import SYSTEM_TEMP

pytestmark = pytest.mark.integration


def _command(port: int, *words: str) -> bytes:
    parts = b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"*%d\r\n" % len(words) + parts)
        return sock.recv(1024)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")
def test_a_killed_broker_comes_back_with_its_data(tmp_path: Path) -> None:
    redis = ThrowawayRedis(tmp_path / "redis")
    redis.start()
    try:
        assert _command(redis.port, "SET", "k", "v") == b"+OK\r\n"
        redis.stop()
        assert not redis.running
        with pytest.raises(OSError):
            _command(redis.port, "PING")
        redis.start()
        assert _command(redis.port, "GET", "k") == b"$1\r\nv\r\n"
    finally:
        redis.stop()


@pytest.mark.skipif(_postgres_binary("initdb") is None, reason="PostgreSQL's initdb not installed")
def test_a_throwaway_postgres_serves_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    psycopg = pytest.importorskip("psycopg")
    # Run as root, the server runs as the postgres user, which cannot reach into the test's own
    # temporary directory: its directory goes where it would outside the tests (removed by
    # stop, as checked below).
    monkeypatch.setattr(tempfile, "tempdir", SYSTEM_TEMP)
    server = ThrowawayPostgres()
    server.start()
    try:
        with psycopg.connect(server.url, connect_timeout=5) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert not server.directory.exists()
