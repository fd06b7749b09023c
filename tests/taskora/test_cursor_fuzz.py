"""Hostile cursors: whatever a client puts in ``cursor`` (a well-formed cursor carrying values
past every range, of the wrong types, with NUL or lone surrogates; or plain garbage), the list
routes answer 200 or 422 with JSON, never a 5xx, on SQLite and PostgreSQL alike.

Hypothesis builds the cursors; the task list's own encoding (base64 of ``[sort, values]``) is
used so that they reach the decoding and the query, not only the first parse."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SORTS, task_body

EXAMPLES = int(os.environ.get("TASKORA_FUZZ_EXAMPLES", "25")) * 4
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Per kind of column, values at and past its edges, mixed with anything at all.
ANY = st.one_of(
    st.integers(),
    st.text(max_size=40),
    st.floats(),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers()),
)
INTS = st.one_of(st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 10**30, -1, 0, 1, 2, 3, 4]), ANY)
OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-01T00:00Z"]
ODD_TIMES = ["9999-12-31T23:59:59+00:00", "2026-01-01T00:00:00", "2026-01-01", "\x00", ""]
TIMES = st.one_of(st.sampled_from(OUT_OF_RANGE + ODD_TIMES), ANY)
TEXTS = st.one_of(st.sampled_from(["", "\x00", "\udcff", "a\x00b", "x" * 5000]), ANY)
COLUMNS = {
    "created_at": (TIMES, INTS),
    "due_at": (INTS, TIMES, INTS),
    "priority": (INTS, INTS),
    "title": (TEXTS, INTS),
}


def _encode(payload: Any) -> str:
    text = json.dumps(payload)  # NaN and Infinity pass as JSON's non-standard literals
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


def _task_cursors(sort: str) -> st.SearchStrategy[str]:
    """Mostly cursors of this sort, a value per column, each at or past its column's edges (or
    anything); some a value short; some not a [sort, values] pair; some not base64 at all."""
    values = st.tuples(*COLUMNS[sort.lstrip("-")]).map(list)
    return st.one_of(
        values.map(lambda v: _encode([sort, v])),
        values.map(lambda v: _encode([sort, v[:-1]])),
        st.builds(_encode, ANY),
        st.text(max_size=200),
    )


def _answer(client: TestClient, url: str, params: dict[str, str], auth: Any) -> tuple[int, Any]:
    """The status and the JSON body (json() raises on a body that is not JSON)."""
    response = client.get(url, params=params, headers=auth())
    return response.status_code, response.json()


def _seed(client: TestClient, auth: Any) -> None:
    for n in range(3):  # a page exists, so a cursor's values reach the query
        body = task_body(title=f"t{n}", due_at="2027-01-01T09:00:00Z")
        assert client.post("/api/tasks", json=body, headers=auth()).status_code == 201


def test_any_task_list_cursor_is_a_200_or_a_422(client: TestClient, auth: Any) -> None:
    _seed(client, auth)

    @FUZZ
    @given(data=st.data(), sort=st.sampled_from(SORTS))
    def list_from(data: st.DataObject, sort: str) -> None:
        cursor = data.draw(_task_cursors(sort))
        status, body = _answer(client, "/api/tasks", {"sort": sort, "cursor": cursor}, auth)
        assert status in (200, 422), (sort, cursor, status, body)

    list_from()


def test_any_audit_or_notification_cursor_is_a_200_or_a_422(client: TestClient, auth: Any) -> None:
    _seed(client, auth)
    cursors = st.one_of(
        st.integers(min_value=-(10**20), max_value=10**20).map(str), st.text(max_size=40)
    )

    @FUZZ
    @given(url=st.sampled_from(["/api/audit", "/api/notifications"]), cursor=cursors)
    def page_from(url: str, cursor: str) -> None:
        status, body = _answer(client, url, {"cursor": cursor}, auth)
        assert status in (200, 422), (url, cursor, status, body)

    page_from()
