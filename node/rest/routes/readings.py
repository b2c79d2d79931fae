"""POST /v1/readings (API key): EIP-712 signed meter readings, checked and queued for the
relay; GET /v1/meters/{meter} (its next expected reading) and
GET /v1/meters/{meter}/readings/{seq} (a reading's fate). docs/rest.md, "Meter readings"."""

from __future__ import annotations

from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, Strict

from gridledger.contracts.typed import MeterReading, MeterSignature, SignedReading
from gridledger.contracts.units import UINT64_LIMIT
from gridledger.node.meters.fates import Fate, MeterOut, ReadingsPosted
from gridledger.node.meters.relay import MAX_BATCH
from gridledger.node.rest.deps import Authorized, Context, KeyFirstRoute
from gridledger.node.rest.schemas import ADDRESS_PATTERN, ErrorOut

router = APIRouter(prefix="/v1", tags=["readings"], route_class=KeyFirstRoute)

BYTES32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
MAX_WAIT_S = 60.0
UINT32_LIMIT = 2**32
Address = Annotated[str, Field(pattern=ADDRESS_PATTERN, description="0x address (any case)")]


def _uint(limit: int, what: str, ge: int = 0) -> object:
    return Field(ge=ge, lt=limit, description=what)


class SignatureIn(BaseModel):
    """The meter's secp256k1 signature of the reading's EIP-712 digest (s in the low half)."""

    model_config = ConfigDict(extra="forbid")

    v: Annotated[int, Strict(), Field(ge=27, le=28)]
    r: Annotated[str, Field(pattern=BYTES32_PATTERN)]
    s: Annotated[str, Field(pattern=BYTES32_PATTERN)]


class ReadingIn(BaseModel):
    """One signed MeterReading: the EIP-712 struct's fields in snake case, and the signature."""

    model_config = ConfigDict(extra="forbid")

    meter: Address
    participant: Address
    interval_start_ts: Annotated[int, Strict(), _uint(UINT64_LIMIT, "interval start [unix s]")]
    duration_s: Annotated[int, Strict(), _uint(UINT32_LIMIT, "interval length [s]")]
    import_wh: Annotated[int, Strict(), _uint(UINT64_LIMIT, "energy into the microgrid [Wh]")]
    export_wh: Annotated[int, Strict(), _uint(UINT64_LIMIT, "energy out of it [Wh]")]
    seq: Annotated[int, Strict(), _uint(UINT64_LIMIT, "the meter's sequence number (1, 2, ...)")]
    signature: SignatureIn

    def signed(self) -> SignedReading:
        sig = self.signature
        reading = MeterReading(
            meter=to_checksum_address(self.meter),
            participant=to_checksum_address(self.participant),
            interval_start_ts=self.interval_start_ts,
            duration_s=self.duration_s,
            import_wh=self.import_wh,
            export_wh=self.export_wh,
            seq=self.seq,
        )
        signature = MeterSignature(sig.v, bytes.fromhex(sig.r[2:]), bytes.fromhex(sig.s[2:]))
        return SignedReading(reading, signature)


class ReadingsRequest(BaseModel):
    """1..128 signed readings (Metering's batch cap), of one meter or several."""

    model_config = ConfigDict(extra="forbid")

    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=MAX_BATCH)]


class ReadingsRefusedOut(ErrorOut):
    """A refused request: the first refusal's error and message, and every reading's fate
    (`readings`; absent on a 422 ValidationError of the body itself, which has `fields`)."""

    readings: list[Fate] | None = None


@router.post(
    "/readings",
    status_code=202,
    dependencies=[Authorized],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ReadingsRefusedOut},
        409: {"model": ReadingsRefusedOut},
        422: {"model": ReadingsRefusedOut},
        503: {"model": ErrorOut},
    },
)
def post_readings(
    body: ReadingsRequest,
    context: Context,
    wait_s: Annotated[
        float,
        Query(
            alias="wait",
            ge=0,
            le=MAX_WAIT_S,
            description="wait up to this long [s] for the readings to be accepted on chain",
        ),
    ] = 0,
) -> ReadingsPosted:
    """Check every reading as Metering would (meter registered to an active participant,
    signature, contiguous sequence, interval) and queue them all for the relay, or refuse the
    request whole. Each reading's fate comes back: queued (on the node's disk: it survives a
    restart), or sent / accepted with `wait`. 503 ReadingQueueUnavailable: the node cannot
    store them, none was queued."""
    signed = [reading.signed() for reading in body.readings]
    posted = context.readings.post(signed)
    context.relay.ensure_started()
    if wait_s > 0:
        keys = [(s.reading.meter, s.reading.seq) for s in signed]
        fates = context.readings.wait_final(keys, wait_s)
        posted = posted.model_copy(update={"readings": fates})
    return posted


MeterPath = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="the meter's 0x address")]


@router.get("/meters/{meter}", responses={422: {"model": ErrorOut}})
def get_meter(meter: MeterPath, context: Context) -> MeterOut:
    """The meter's last reading on chain, what this node holds for it, and the sequence
    number and earliest start of the next reading the node takes."""
    return context.readings.meter(to_checksum_address(meter))


@router.get(
    "/meters/{meter}/readings/{seq}",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_reading_fate(
    meter: MeterPath,
    seq: Annotated[int, Path(ge=0, lt=UINT64_LIMIT, description="the reading's seq")],
    context: Context,
) -> Fate:
    """The fate of reading `seq` of `meter` (queued, sent, accepted or dropped)."""
    return context.readings.fate(to_checksum_address(meter), seq)
