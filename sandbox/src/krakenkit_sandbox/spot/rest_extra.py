"""Funding, earn and subaccount endpoints of the sandbox's Spot REST API.

These move no real money: withdrawals debit the balance and stay ``Pending``; deposits are not
simulated (``DepositStatus`` lists what ``Sandbox.deposit`` credited, if anything). Shapes follow the
official OpenAPI examples.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .engine import OrderError
from .market import ASSETS, find_asset

if TYPE_CHECKING:
    from .auth import ApiKey
    from .exchange import SpotExchange

D = Decimal

METHODS = {
    "XXBT": [
        ("Bitcoin", "Bitcoin", "0.0004", "0.00020000"),
        ("Bitcoin Lightning", "Lightning", "0.00001", "0.00000000"),
    ],
    "XETH": [("Ether", "Ethereum", "0.004", "0.00150000")],
    "XXDG": [("Dogecoin", "Dogecoin", "50", "4.00000000")],
    "ZUSD": [("Bank Frick (SWIFT)", "SWIFT", "10", "5.00000000")],
    "ZEUR": [("SEPA", "SEPA", "1", "0.00000000")],
}


def handlers(ex: SpotExchange) -> dict[str, Any]:
    """The private handlers of these endpoints, by method name, acting on ``ex``."""
    state: dict[str, Any] = {"withdrawals": {}, "allocations": {}}

    def _asset(params: dict[str, Any], field: str = "asset") -> str:
        a = find_asset(str(params.get(field, "")))
        if a is None:
            raise OrderError("EGeneral:Invalid arguments:asset")
        return a.key

    def deposit_methods(key: ApiKey, params: dict[str, Any]) -> Any:
        a = _asset(params)
        return [
            {"method": m, "limit": False, "fee": fee, "gen-address": True, "minimum": mn}
            for m, _net, mn, fee in METHODS.get(a, [])
        ]

    def deposit_addresses(key: ApiKey, params: dict[str, Any]) -> Any:
        a = _asset(params)
        if not params.get("method"):
            raise OrderError("EGeneral:Invalid arguments:method")
        seed = abs(hash((key.account, a))) % 10**12
        return [{"address": f"sandbox{a.lower()}{seed:012d}", "expiretm": "0", "new": True}]

    def deposit_status(key: ApiKey, params: dict[str, Any]) -> Any:
        acc = ex.engine.account(key.account)
        out = []
        for e in acc.ledger.values():
            if e.type == "deposit":
                m = METHODS.get(e.asset, [("Sandbox", "", "0", "0")])[0][0]
                out.append(
                    {
                        "method": m,
                        "aclass": "currency",
                        "asset": e.asset,
                        "refid": e.refid,
                        "txid": e.id,
                        "info": "sandbox",
                        "amount": f"{e.amount:.8f}",
                        "fee": "0.0000000000",
                        "time": int(e.time),
                        "status": "Success",
                        "status-prop": "return",
                    }
                )
        return out

    def withdraw_methods(key: ApiKey, params: dict[str, Any]) -> Any:
        assets = [_asset(params)] if params.get("asset") else list(METHODS)
        return [
            {"asset": a, "method": m, "network": net, "minimum": mn}
            for a in assets
            for m, net, mn, _fee in METHODS.get(a, [])
        ]

    def withdraw_addresses(key: ApiKey, params: dict[str, Any]) -> Any:
        return [
            {
                "address": "bc1qsandboxsandboxsandboxsandbox0000000",
                "asset": "XBT",
                "method": "Bitcoin",
                "key": "btc-wallet-1",
                "verified": True,
            }
        ]

    def withdraw_info(key: ApiKey, params: dict[str, Any]) -> Any:
        a = _asset(params)
        amount = D(str(params.get("amount", "0")))
        fee = D(METHODS.get(a, [("", "", "0", "0")])[0][3])
        avail = ex.engine.account(key.account).available(a)
        return {
            "method": METHODS.get(a, [("Sandbox",)])[0][0],
            "limit": f"{avail:.8f}",
            "amount": f"{amount - fee:.8f}",
            "fee": f"{fee:.8f}",
        }

    def withdraw(key: ApiKey, params: dict[str, Any]) -> Any:
        a = _asset(params)
        if not params.get("key") and not params.get("address"):
            raise OrderError("EGeneral:Invalid arguments:key")
        amount = D(str(params.get("amount", "0")))
        if amount <= 0:
            raise OrderError("EGeneral:Invalid arguments:amount")
        acc = ex.engine.account(key.account)
        if acc.available(a) < amount:
            raise OrderError("EFunding:Insufficient funds")
        entry = ex.engine.credit(key.account, a, -amount, "withdrawal")
        ex.publish()
        refid = "FT" + entry.id.replace("-", "")
        state["withdrawals"][refid] = (key.account, a, amount, entry.time, str(params.get("key", "")))
        return {"refid": refid}

    def withdraw_status(key: ApiKey, params: dict[str, Any]) -> Any:
        out = []
        for refid, (acct, a, amount, t, wkey) in state["withdrawals"].items():
            if acct != key.account:
                continue
            out.append(
                {
                    "method": METHODS.get(a, [("Sandbox",)])[0][0],
                    "aclass": "currency",
                    "asset": a,
                    "refid": refid,
                    "txid": "",
                    "info": "sandbox",
                    "amount": f"{amount:.8f}",
                    "fee": "0.00000000",
                    "time": int(t),
                    "status": "Pending",
                    "key": wkey,
                }
            )
        return out

    def withdraw_cancel(key: ApiKey, params: dict[str, Any]) -> Any:
        refid = str(params.get("refid", ""))
        item = state["withdrawals"].get(refid)
        if item is None or item[0] != key.account:
            raise OrderError("EFunding:Unknown reference id")
        del state["withdrawals"][refid]
        ex.engine.credit(key.account, item[1], item[2], "withdrawal")
        ex.publish()
        return True

    def wallet_transfer(key: ApiKey, params: dict[str, Any]) -> Any:
        a = _asset(params)
        amount = D(str(params.get("amount", "0")))
        if ex.engine.account(key.account).available(a) < amount:
            raise OrderError("EFunding:Insufficient funds")
        entry = ex.engine.credit(key.account, a, -amount, "transfer")
        ex.publish()
        return {"refid": "FT" + entry.id.replace("-", "")}

    def create_subaccount(key: ApiKey, params: dict[str, Any]) -> Any:
        if not params.get("username") or not params.get("email"):
            raise OrderError("EGeneral:Invalid arguments")
        return True

    def account_transfer(key: ApiKey, params: dict[str, Any]) -> Any:
        _asset(params)
        return {"transfer_id": ex.engine.new_id("T"), "status": "complete"}

    def earn_strategies(key: ApiKey, params: dict[str, Any]) -> Any:
        items = []
        for a in ASSETS.values():
            items.append(
                {
                    "id": f"ESSBX-{a.altname}-FLEX",
                    "asset": a.key,
                    "lock_type": {"type": "instant", "payout_frequency": 604800},
                    "apr_estimate": {"low": "1.0000", "high": "3.0000"},
                    "user_min_allocation": "0.01",
                    "allocation_fee": "0.0000",
                    "deallocation_fee": "0.0000",
                    "auto_compound": {"type": "enabled"},
                    "yield_source": {"type": "staking"},
                    "can_allocate": True,
                    "can_deallocate": True,
                    "allocation_restriction_info": [],
                }
            )
        return {"next_cursor": None, "items": items}

    def earn_allocate(key: ApiKey, params: dict[str, Any]) -> Any:
        sid = str(params.get("strategy_id", ""))
        amount = D(str(params.get("amount", "0")))
        if not sid.startswith("ESSBX-") or amount <= 0:
            raise OrderError("EGeneral:Invalid arguments")
        allocs = state["allocations"].setdefault(key.account, {})
        allocs[sid] = allocs.get(sid, D(0)) + amount
        return True

    def earn_deallocate(key: ApiKey, params: dict[str, Any]) -> Any:
        sid = str(params.get("strategy_id", ""))
        amount = D(str(params.get("amount", "0")))
        allocs = state["allocations"].setdefault(key.account, {})
        if amount <= 0 or sid not in allocs:
            raise OrderError("EGeneral:Invalid arguments")
        if allocs.get(sid, D(0)) < amount:
            raise OrderError("EEarnings:Insufficient funds")
        allocs[sid] -= amount
        return True

    def earn_status(key: ApiKey, params: dict[str, Any]) -> Any:
        return {"pending": False}

    def earn_allocations(key: ApiKey, params: dict[str, Any]) -> Any:
        items = []
        total = D(0)
        for sid, amount in state["allocations"].get(key.account, {}).items():
            conv = f"{amount:.4f}"
            total += amount
            items.append(
                {
                    "strategy_id": sid,
                    "native_asset": sid.split("-")[1],
                    "amount_allocated": {"total": {"native": f"{amount:.10f}", "converted": conv}},
                    "total_rewarded": {"native": "0", "converted": "0.0000"},
                }
            )
        return {
            "converted_asset": "USD",
            "total_allocated": f"{total:.4f}",
            "total_rewarded": "0.0000",
            "next_cursor": None,
            "items": items,
        }

    return {
        "DepositMethods": deposit_methods,
        "DepositAddresses": deposit_addresses,
        "DepositStatus": deposit_status,
        "WithdrawMethods": withdraw_methods,
        "WithdrawAddresses": withdraw_addresses,
        "WithdrawInfo": withdraw_info,
        "Withdraw": withdraw,
        "WithdrawStatus": withdraw_status,
        "WithdrawCancel": withdraw_cancel,
        "WalletTransfer": wallet_transfer,
        "CreateSubaccount": create_subaccount,
        "AccountTransfer": account_transfer,
        "Earn/Strategies": earn_strategies,
        "Earn/Allocate": earn_allocate,
        "Earn/Deallocate": earn_deallocate,
        "Earn/AllocateStatus": earn_status,
        "Earn/DeallocateStatus": earn_status,
        "Earn/Allocations": earn_allocations,
    }
