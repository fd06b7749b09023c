"""Responses serialised once: handlers build the public model and return its JSON, so FastAPI
neither validates it a second time nor hops to a thread to do so."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

__all__ = ["json_response"]


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")
