"""The audit trail of the user's tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.api.responses import json_response
from taskora.domain import audit
from taskora.schemas import AuditPage, AuditQuery

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    query: Annotated[AuditQuery, Query()], user: CurrentUser, db: DatabaseDep
) -> Response:
    """Audit entries, newest first: one per event, with actor, type, time, before and after."""
    with db.read() as session:
        page = audit.list_audit(session=session, user_id=user, query=query)
    return json_response(page)
