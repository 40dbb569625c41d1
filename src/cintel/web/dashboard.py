"""The dashboard: today's intake, channels against capacity, hits and revenue found, model performance and drift."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
