"""Rollout layer 1: public REST. Server time (clock skew), system status, ticker, order book."""

from __future__ import annotations

import time

from _target import target

from krakenkit.rest import SpotClient

with target() as t, SpotClient(environment=t.environment) as client:
    before = time.time()
    server = client.get_server_time()
    skew = server.unixtime - (before + time.time()) / 2
    print(f"server time {server.unixtime}, clock skew {skew:+.2f}s")
    status = client.get_system_status()
    print("system status:", status.status)
    ticker = client.get_ticker(pair="XBTUSD")
    info = ticker.raw["XXBTZUSD"]
    print(f"XBTUSD bid {info['b'][0]} ask {info['a'][0]} last {info['c'][0]}")
    book = client.get_order_book(pair="XBTUSD", count=5).raw["XXBTZUSD"]
    print(f"book: best bid {book['bids'][0][0]}, best ask {book['asks'][0][0]}")
    assert status.status == "online" and abs(skew) < 5
    print("OK layer 1 public REST")
