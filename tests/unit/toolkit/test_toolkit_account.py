"""AccountState fed with the official example frames and REST shapes: nothing counts twice."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from kraken_reference import REFERENCE
from krakenkit._core.jsonutil import loads
from krakenkit.toolkit import AccountState, Fill

REF = REFERENCE
WS2 = REF / "ws-v2-examples"
FWS = REF / "futures-ws-examples"


def frame(path: Path) -> Any:
    return loads(path.read_bytes())


def trade_update(
    seq: int,
    exec_id: str,
    order_id: str = "OK4GJX-KSTLS-7DZZO5",
    qty: str = "0.005",
    status: str = "partially_filled",
    cum: str = "0.005",
) -> dict[str, Any]:
    return {
        "channel": "executions",
        "type": "update",
        "sequence": seq,
        "data": [
            {
                "order_id": order_id,
                "exec_id": exec_id,
                "exec_type": "trade",
                "symbol": "BTC/USD",
                "side": "sell",
                "last_qty": Decimal(qty),
                "last_price": Decimal("26599.9"),
                "order_status": status,
                "cum_qty": Decimal(cum),
                "timestamp": "2023-09-22T10:33:05.709993Z",
                "fees": [{"asset": "USD", "qty": Decimal("0.3458")}],
            }
        ],
    }


def test_official_execution_frames() -> None:
    st = AccountState()
    seen: list[Fill] = []
    st.on_fill(seen.append)
    st.apply_ws(frame(WS2 / "ws2_executions_update_pending_new.json"))
    assert st.orders["OK4GJX-KSTLS-7DZZO5"].status == "pending"
    st.apply_ws(frame(WS2 / "ws2_executions_update_new.json"))
    assert st.orders["OK4GJX-KSTLS-7DZZO5"].status == "open"
    assert st.apply_ws(frame(WS2 / "ws2_executions_update_trade.json")) == 1
    f = st.fills["TGBB7L-HT5LX-J3BZ4A"]
    assert (f.qty, f.price, f.fee, f.fee_asset) == (Decimal("0.005"), Decimal("26599.9"), Decimal("0.3458"), "USD")
    assert st.orders["OK4GJX-KSTLS-7DZZO5"].filled == Decimal("0.005")
    assert seen == [f]
    assert st.last_fill_ts is not None and st.last_fill_ts > 1.69e9


def test_sequence_duplicates_dropped_and_gaps_counted() -> None:
    st = AccountState()
    st.apply_ws({"channel": "executions", "type": "snapshot", "sequence": 1, "data": []})
    assert st.apply_ws(trade_update(2, "T1")) == 1
    assert st.apply_ws(trade_update(2, "T1")) == 0  # same frame again
    assert st.duplicates_dropped == 1
    assert st.apply_ws(trade_update(5, "T2", qty="0.001", cum="0.006")) == 1
    assert st.sequence_gaps == 1
    # a new connection starts again with a snapshot at sequence 1
    st.apply_ws({"channel": "executions", "type": "snapshot", "sequence": 1, "data": []})
    assert st.apply_ws(trade_update(2, "T3", qty="0.001", cum="0.007")) == 1


def test_ws_and_rest_fills_deduplicate_by_trade_id() -> None:
    st = AccountState()
    st.apply_ws(trade_update(1, "TAAAAA-1", order_id="O1"))
    rest = {
        "trades": {
            "TAAAAA-1": {
                "ordertxid": "O1",
                "pair": "XBTUSD",
                "time": 1695378785.7,
                "type": "sell",
                "price": "26599.9",
                "vol": "0.005",
                "fee": "0.3458",
            },
            "TBBBBB-2": {
                "ordertxid": "O1",
                "pair": "XBTUSD",
                "time": 1695378790.1,
                "type": "sell",
                "price": "26600.0",
                "vol": "0.001",
                "fee": "0.01",
            },
        },
        "count": 2,
    }
    assert st.apply_spot_trades(rest) == 1
    assert st.apply_spot_trades(rest) == 0
    assert sorted(st.fills) == ["TAAAAA-1", "TBBBBB-2"]
    assert sum(f.qty for f in st.fills_for("O1")) == Decimal("0.006")
    assert st.fills["TAAAAA-1"].source == "ws"


def test_orders_merge_monotonically() -> None:
    st = AccountState()
    st.apply_ws(trade_update(1, "T1", order_id="O1", status="filled", cum="0.01"))
    assert st.orders["O1"].status == "closed"
    # an older REST answer still lists it as open with less filled: it must not undo the fill
    st.apply_spot_open_orders(
        {
            "open": {
                "O1": {
                    "status": "open",
                    "vol": "0.01",
                    "vol_exec": "0.002",
                    "descr": {"pair": "XBTUSD", "type": "sell", "ordertype": "limit"},
                }
            }
        }
    )
    o = st.orders["O1"]
    assert o.status == "closed" and o.filled == Decimal("0.01")


def test_rest_open_orders_snapshot_retires_missing_orders() -> None:
    st = AccountState(clock=lambda: 100.0)
    st.apply_spot_open_orders(
        {
            "open": {
                "O1": {"status": "open", "vol": "1", "vol_exec": "0", "opentm": 50.0, "descr": {"pair": "XBTUSD"}},
                "O2": {"status": "open", "vol": "1", "vol_exec": "0", "opentm": 50.0, "descr": {"pair": "XBTUSD"}},
            }
        }
    )
    assert set(st.open_orders) == {"O1", "O2"}
    st.apply_spot_open_orders(
        {"open": {"O1": {"status": "open", "vol": "1", "vol_exec": "0", "opentm": 50.0}}}, as_of=99.0
    )
    assert set(st.open_orders) == {"O1"} and st.orders["O2"].status == "inactive"
    st.apply_spot_orders({"closed": {"O2": {"status": "canceled", "vol": "1", "vol_exec": "0"}}})
    assert st.orders["O2"].status == "canceled"


def test_balances_snapshot_and_ledger_updates_once() -> None:
    st = AccountState()
    st.apply_ws(frame(WS2 / "ws2_balances_snapshot.json"))
    assert st.balances["USD"] == Decimal("80595.4943")
    lines = (WS2 / "ws2_balances_update_trade.jsonl").read_text().splitlines()
    for line in lines:
        st.apply_ws(loads(line))
    assert st.balances["BTC"] == Decimal("0.005") and st.balances["USD"] == Decimal("500")
    replay = json.loads(lines[0])
    replay["sequence"] = 99
    replay["data"][0]["balance"] = 7
    st.apply_ws(replay)  # same ledger id, newer sequence: still applied once
    assert st.balances["BTC"] == Decimal("0.005")
    st.apply_spot_balances({"XXBT": "1.5", "ZUSD": {"balance": "10", "hold_trade": "0"}})
    assert st.balances["BTC"] == Decimal("1.5") and st.balances["USD"] == Decimal("10")
    assert "XXBT" not in st.balances and "ZUSD" not in st.balances


def test_futures_feeds_and_rest_backfill() -> None:
    st = AccountState(product="futures")
    assert st.apply_ws(frame(FWS / "fws_fills_snapshot.json")) == 2
    st.apply_ws(frame(FWS / "fws_open_orders_snapshot.json"))
    assert len(st.open_orders) == 3
    st.apply_ws(frame(FWS / "fws_open_orders_delta_cancel.json"))
    st.apply_ws(frame(FWS / "fws_open_orders_delta_new.json"))
    assert st.orders["59302619-41d2-4f0b-941f-7e7914760ad3"].is_open
    st.apply_ws(frame(FWS / "fws_open_positions_snapshot.json"))
    assert st.positions["PF_XBTUSD"].size == Decimal("0.04")
    # REST fills repeat one WS fill and add one
    rest = [
        {
            "fill_id": "cad76f07-814e-4dc6-8478-7867407b6bff",
            "symbol": "FI_XBTUSD_200925",
            "side": "buy",
            "order_id": "9e30258b-5a98-4002-968a-5b0e149bcfbf",
            "size": 5000,
            "price": "10937.5",
            "fillTime": "2020-09-16T11:48:30.739Z",
        },
        {
            "fill_id": "new-fill",
            "symbol": "PF_XBTUSD",
            "side": "sell",
            "order_id": "o2",
            "size": "1",
            "price": "30000",
            "fillTime": "2020-09-16T11:50:00.000Z",
            "cliOrdId": "my-1",
        },
    ]
    assert st.apply_futures_fills({"fills": rest}) == 1
    assert st.apply_futures_fills(rest) == 0
    more = [dict(rest[1], fill_id="list-fill")]
    assert st.apply_futures_fills(more) == 1  # a bare list (typed client result) works too
    assert len(st.fills) == 4 and st.fills["new-fill"].cl_ord_id == "my-1"
    assert (
        st.apply_futures_positions(
            {"openPositions": [{"symbol": "PF_ETHUSD", "side": "short", "size": "2", "price": "1800"}]}
        )
        == 1
    )
    assert st.positions == {"PF_ETHUSD": st.positions["PF_ETHUSD"]}
    assert st.positions["PF_ETHUSD"].size == Decimal("-2")


def test_rest_snapshots_requested_before_a_stream_update_do_not_undo_it() -> None:
    st = AccountState()
    mark = st.stream_mark()  # a Balance request goes out ...
    st.apply_ws(
        {
            "channel": "balances",
            "type": "update",
            "sequence": 1,
            "data": [{"asset": "USD", "balance": "90", "ledger_id": "L1"}],
        }
    )  # ... a trade moves USD meanwhile
    st.apply_spot_balances({"USD": "100", "BTC": "1"}, mark=mark)  # ... the answer is older for USD
    assert st.balances == {"USD": Decimal("90"), "BTC": Decimal("1")}
    st.apply_spot_balances({"USD": "80"}, mark=st.stream_mark())  # a later snapshot applies
    assert st.balances["USD"] == Decimal("80")
    st.apply_spot_balances({"USD": "70"})  # no mark: as before, the snapshot wins
    assert st.balances["USD"] == Decimal("70")

    fut = AccountState(product="futures")
    mark = fut.stream_mark()
    fut.apply_ws({"feed": "open_positions", "positions": [{"instrument": "PF_XBTUSD", "balance": 2}]})
    assert (
        fut.apply_futures_positions(
            {"openPositions": [{"symbol": "PF_XBTUSD", "side": "long", "size": "1"}]}, mark=mark
        )
        == 1
    )
    assert fut.positions["PF_XBTUSD"].size == Decimal(2) and fut.stale_snapshots_skipped == 1
    fut.apply_futures_positions({"openPositions": []}, mark=fut.stream_mark())
    assert fut.positions == {}


def test_rest_balances_use_the_stream_asset_names() -> None:
    """Backfilled REST balances (XXBT, ZUSD) and streamed ones (BTC, USD) land on one name per asset."""
    state = AccountState()
    state.apply_spot_balances({"XXBT": "1.5", "ZUSD": "100.25", "XBT.F": "0.1", "SOL": "3"})
    assert state.balances == {
        "BTC": Decimal("1.5"),
        "USD": Decimal("100.25"),
        "BTC.F": Decimal("0.1"),
        "SOL": Decimal("3"),
    }


def test_futures_open_orders_qty_is_what_remains_open() -> None:
    """On the Derivatives v1 ``open_orders`` feed ``qty`` is the open remainder: a partly filled order of
    size 5 with 2 filled arrives as qty 3, filled 2."""
    state = AccountState()
    state.apply_ws(
        {
            "feed": "open_orders",
            "order": {
                "instrument": "PF_XBTUSD",
                "time": 1,
                "last_update_time": 1,
                "qty": Decimal("3"),
                "filled": Decimal("2"),
                "limit_price": Decimal("30000"),
                "stop_price": None,
                "type": "limit",
                "order_id": "o-1",
                "direction": 0,
                "reduce_only": False,
            },
            "is_cancel": False,
            "reason": "partial_fill",
        }
    )
    view = state.orders["o-1"]
    assert (view.qty, view.filled, view.status) == (Decimal("5"), Decimal("2"), "open")
