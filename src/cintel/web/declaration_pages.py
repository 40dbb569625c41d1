"""Declaration pages and API: every field and item, parties, route, score and explanation, rule hits, trader history, the inspection form; and real-time scoring."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
