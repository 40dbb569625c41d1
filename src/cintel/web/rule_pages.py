"""Rules pages and API: the rulebook, the editor with live validation, backtest, four-eyes approval, retirement; profiles and lookup lists."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
