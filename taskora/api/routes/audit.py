"""The audit trail of the user's tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.api.query_model import query_model
from taskora.api.responses import json_response
from taskora.domain import audit
from taskora.schemas import AuditPage, AuditQuery

router = APIRouter(prefix="/api/audit", tags=["audit"])


_audit_query, _AUDIT_QUERY_DOCS = query_model(AuditQuery)


@router.get("", openapi_extra=_AUDIT_QUERY_DOCS, response_model=AuditPage)
async def list_audit(
    query: Annotated[AuditQuery, Depends(_audit_query)], user: CurrentUser, db: DatabaseDep
) -> Response:
    """Audit entries, newest first: one per event, with actor, type, time, before and after."""
    page = await db.run_read(
        lambda session: audit.list_audit(session=session, user_id=user, query=query)
    )
    return json_response(page)
