"""The base of the domain's pydantic values: immutable once built."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A domain value: immutable, compared by its fields."""

    model_config = ConfigDict(frozen=True)
