"""Instruments and their static description (what ``/instruments`` and ``/tickers`` describe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["INSTRUMENTS", "Instrument"]


@dataclass(frozen=True)
class Instrument:
    symbol: str
    pair: str  # "XBT:USD"
    base: str
    quote: str
    type: str  # "flexible_futures" | "futures_inverse"
    tick_size: Decimal
    size_step: Decimal  # contractValueTradePrecision as a step (0.0001 -> precision 4)
    precision: int
    contract_size: Decimal
    start_price: Decimal
    max_position: Decimal
    isin: str
    fee_schedule_uid: str
    level_qty: tuple[Decimal, Decimal]  # synthetic book quantity range per level
    max_leverage: Decimal = Decimal(50)
    category: str = "Layer 1"
    underlying: str | None = None
    margin_levels: tuple[tuple[Decimal, Decimal, Decimal], ...] = field(
        default=(
            (Decimal(0), Decimal("0.02"), Decimal("0.01")),
            (Decimal(500000), Decimal("0.04"), Decimal("0.02")),
            (Decimal(2000000), Decimal("0.1"), Decimal("0.05")),
        )
    )

    @property
    def inverse(self) -> bool:
        return self.type == "futures_inverse"

    @property
    def index_symbol(self) -> str:
        return "in_" + self.base.lower() + self.quote.lower()

    @property
    def rr_symbol(self) -> str:
        return "rr_" + self.base.lower() + self.quote.lower()

    @property
    def currency(self) -> str:
        """WS-style base currency name (BTC for XBT)."""
        return "BTC" if self.base == "XBT" else self.base


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        symbol="PF_XBTUSD",
        pair="XBT:USD",
        base="XBT",
        quote="USD",
        type="flexible_futures",
        tick_size=Decimal(1),
        size_step=Decimal("0.0001"),
        precision=4,
        contract_size=Decimal(1),
        start_price=Decimal(60000),
        max_position=Decimal(1000000),
        isin="GB00KSMP5Z54",
        fee_schedule_uid="5b755fea-c5b0-4307-a66e-b392cd5bd931",
        level_qty=(Decimal("0.05"), Decimal("2.5")),
    ),
    Instrument(
        symbol="PF_ETHUSD",
        pair="ETH:USD",
        base="ETH",
        quote="USD",
        type="flexible_futures",
        tick_size=Decimal("0.1"),
        size_step=Decimal("0.001"),
        precision=3,
        contract_size=Decimal(1),
        start_price=Decimal(3000),
        max_position=Decimal(1000000),
        isin="GB00KSMP5Z62",
        fee_schedule_uid="5b755fea-c5b0-4307-a66e-b392cd5bd931",
        level_qty=(Decimal("0.5"), Decimal(40)),
    ),
    Instrument(
        symbol="PI_XBTUSD",
        pair="XBT:USD",
        base="XBT",
        quote="USD",
        type="futures_inverse",
        tick_size=Decimal("0.5"),
        size_step=Decimal(1),
        precision=0,
        contract_size=Decimal(1),
        start_price=Decimal(60000),
        max_position=Decimal(1000000),
        isin="GB00J62YGL67",
        fee_schedule_uid="eef90775-995b-4596-9257-0917f6134766",
        level_qty=(Decimal(100), Decimal(50000)),
        underlying="rr_xbtusd",
        category="",
        margin_levels=(
            (Decimal(0), Decimal("0.02"), Decimal("0.01")),
            (Decimal(500000), Decimal("0.04"), Decimal("0.02")),
            (Decimal(1000000), Decimal("0.06"), Decimal("0.03")),
        ),
    ),
)
