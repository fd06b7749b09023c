"""Request bodies parsed as strict JSON: finite numbers and valid Unicode only.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e999`` (a float that overflows to
infinity), and ``"\\ud800"`` (a lone surrogate, which no database can store and no response can
echo). Each is refused here as a JSON decode error, which FastAPI answers with a 422 naming it.
The routers of the API use ``StrictJSONRoute`` (FastAPI's documented custom-route pattern).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["StrictJSONRoute", "strict_loads"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number: numbers must be finite")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large: numbers must be finite")
    return value


def _check_unicode(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_unicode(key)
            _check_unicode(item)
    elif isinstance(value, list):
        for item in value:
            _check_unicode(item)


def strict_loads(body: bytes) -> Any:
    """The JSON document in ``body``; ``json.JSONDecodeError`` for anything not strict JSON."""
    text = body.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
        if "\\u" in text:  # only an escape can spell a lone surrogate
            _check_unicode(value)
    except json.JSONDecodeError:
        raise
    except UnicodeEncodeError:
        raise json.JSONDecodeError(
            "a lone surrogate (\\ud800-\\udfff) is not text", text, 0
        ) from None
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
