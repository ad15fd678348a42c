"""The strict base model every configuration model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
