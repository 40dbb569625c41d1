"""Search: one box over declarations, entities (fuzzy, transliterated), containers and vessels."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
