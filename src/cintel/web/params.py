"""Parameter types shared by the workspace's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

# Row ids are SQL integers (32-bit on PostgreSQL): a larger number names nothing, and is refused with a 422
# before it reaches the store, where it would overflow the driver.
MAX_RECORD_ID = 2_147_483_647
MAX_PAGE = 1_000_000

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
# The same, as a field of a request body.
RecordIdField = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]
PageQuery = Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE, description="Page number, from 1")]
