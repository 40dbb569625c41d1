"""Jinja2 templates with autoescaping always on: every value a page shows is HTML-escaped unless a
template says otherwise (none does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cintel.domain.access import STANDARD_PURPOSES
from cintel.web.security import CSRF_FIELD, Principal

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_env.globals["standard_purposes"] = STANDARD_PURPOSES
templates = Jinja2Templates(env=_env)


def page(request: Request, name: str, principal: Principal | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Renders a template with the signed-in user (or None) and the session's CSRF token for its forms."""
    return templates.TemplateResponse(request, name, {
        "user": principal.user if principal else None,
        "csrf_token": principal.csrf_token if principal else None,
        "csrf_field": CSRF_FIELD, **context}, status_code=status_code)
