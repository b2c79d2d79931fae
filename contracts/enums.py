"""One Python mirror per Solidity enum of contracts/src/interfaces (same members, same order;
tests/contracts/test_enums.py compares them with the sources).

A member's value is its ABI value (uint8); its `label` ("gate-closed") is how the REST API and
the reports spell it: in a pydantic model a member validates from its label and serializes to
it, with pydantic's own enum error for anything else.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


class SolidityEnum(IntEnum):
    """An IntEnum mirroring a Solidity enum, with the lower-case label used in JSON."""

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def labels(cls) -> list[str]:
        return [member.label for member in cls]

    @classmethod
    def of_label(cls, label: str) -> Self:
        """The member spelled `label`; ValueError names the labels there are."""
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"{label!r} is no {cls.__name__} (one of {cls.labels()})")

    @classmethod
    def _from_json(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        labels = cls.labels()
        if isinstance(value, str) and value in labels:
            return cls.of_label(value)
        expected = " or ".join([", ".join(repr(label) for label in labels[:-1]), repr(labels[-1])])
        raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._from_json,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda member: member.label, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": cls.labels(), "title": cls.__name__}


class Side(SolidityEnum):
    """An order's side (IMarket.sol `Side`)."""

    BUY = 0
    SELL = 1


class Phase(SolidityEnum):
    """A market interval's phase (IMarket.sol `Phase`)."""

    OPEN = 0
    GATE_CLOSED = 1
    CLEARING = 2
    CLEARED = 3


class BoundKind(SolidityEnum):
    """How a contract bounds PCC power (IImportCap.sol `BoundKind`)."""

    UPPER = 0
    LOWER = 1
    RANGE = 2


class AdmissionPolicy(SolidityEnum):
    """Who may admit participants (IRegulation.sol `AdmissionPolicy`)."""

    OPERATOR_OR_REGULATOR = 0
    REGULATOR_ONLY = 1
    CLOSED = 2


class AuthorityProposalState(SolidityEnum):
    """Where an authority-set proposal stands (IAuthoritySet.sol `AuthorityProposalState`)."""

    UNKNOWN = 0
    PENDING = 1
    SCHEDULED = 2
    EXPIRED = 3
