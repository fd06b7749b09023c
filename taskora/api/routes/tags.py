"""Tags with colours; renaming or deleting one applies to every task that carries it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.api.responses import json_response
from taskora.api.strict_json import StrictJSONRoute
from taskora.db import utcnow
from taskora.domain import tags
from taskora.schemas import TagCreate, TagPublic, TagsPublic, TagUpdate

router = APIRouter(prefix="/api/tags", tags=["tags"], route_class=StrictJSONRoute)

TagName = Annotated[
    str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such tag for this user"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The name is taken"}}


@router.get("", response_model=TagsPublic)
async def list_tags(user: CurrentUser, db: DatabaseDep) -> Response:
    """List the user's tags with the number of tasks carrying each."""
    result = await db.run_read(lambda session: tags.list_tags(session=session, user_id=user))
    return json_response(result)


@router.post("", status_code=201, response_model=TagPublic, responses=CONFLICT)
async def create_tag(body: TagCreate, user: CurrentUser, db: DatabaseDep) -> Response:
    """Create a tag (tasks also create the tags they name)."""
    created = await db.run_write(
        lambda session: tags.create_tag(session=session, user_id=user, data=body, now=utcnow())
    )
    return json_response(created, status_code=201)


@router.patch("/{name}", response_model=TagPublic, responses={**NOT_FOUND, **CONFLICT})
async def update_tag(
    name: TagName, body: TagUpdate, user: CurrentUser, db: DatabaseDep
) -> Response:
    """Rename or recolour a tag; every task carrying it follows."""
    updated = await db.run_write(
        lambda session: tags.update_tag(
            session=session, user_id=user, name=name, changes=body, now=utcnow()
        )
    )
    return json_response(updated)


@router.delete("/{name}", status_code=204, responses=NOT_FOUND)
async def delete_tag(name: TagName, user: CurrentUser, db: DatabaseDep) -> Response:
    """Delete a tag and remove it from every task."""
    await db.run_write(
        lambda session: tags.delete_tag(session=session, user_id=user, name=name, now=utcnow())
    )
    return Response(status_code=204)
