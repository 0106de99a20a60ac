"""Phone numbers: carriers, the inventory they provide, and the ACS Phone Numbers API over it."""

from switchboard.numbers.models import (
    Capability,
    CarrierDefinition,
    CarrierKind,
    OwnedNumber,
)
from switchboard.numbers.service import NumbersService
from switchboard.numbers.sql_stores import sql_numbers_service

__all__ = [
    "Capability",
    "CarrierDefinition",
    "CarrierKind",
    "NumbersService",
    "OwnedNumber",
    "sql_numbers_service",
]
