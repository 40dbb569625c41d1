"""Case pages and API: open from a declaration, entity or ring; evidence, notes, assignment, status, PDF and CSV export."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
