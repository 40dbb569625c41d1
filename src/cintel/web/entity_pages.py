"""Entity and network pages and API: identifiers, aliases, sources, screening hits, timeline, the expandable graph, merge and split; paths and rings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
