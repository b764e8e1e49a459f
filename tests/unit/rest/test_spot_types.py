"""Typed results: the official OpenAPI response examples parse into Decimal-typed results; raw stays reachable.

``EXAMPLES`` holds Kraken's examples from Kraken's Spot REST OpenAPI (examples/responses)
(converted from YAML to JSON once, as the test venv has no YAML parser).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from krakenkit._core.jsonutil import loads
from krakenkit.rest import SpotClient
from krakenkit.rest import spot_types as t
from krakenkit.rest.spot_endpoints import SPOT_ENDPOINTS

EXAMPLES_JSON = r"""{
 "Time": {
  "error": [],
  "result": {
   "unixtime": 1546998654,
   "rfc1123": "Wed,  9 Jan 19 01:50:54 +0000"
  }
 },
 "Assets": {
  "error": [],
  "result": {
   "ADA": {
    "aclass": "currency",
    "altname": "ADA",
    "decimals": 8,
    "display_decimals": 6,
    "collateral_value": 0.9,
    "status": "enabled"
   },
   "BCH": {
    "aclass": "currency",
    "altname": "BCH",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "DASH": {
    "aclass": "currency",
    "altname": "DASH",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "EOS": {
    "aclass": "currency",
    "altname": "EOS",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "GNO": {
    "aclass": "currency",
    "altname": "GNO",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "KFEE": {
    "aclass": "currency",
    "altname": "FEE",
    "decimals": 2,
    "display_decimals": 2,
    "status": "enabled"
   },
   "QTUM": {
    "aclass": "currency",
    "altname": "QTUM",
    "decimals": 10,
    "display_decimals": 6,
    "status": "enabled"
   },
   "USDT": {
    "aclass": "currency",
    "altname": "USDT",
    "decimals": 8,
    "display_decimals": 4,
    "collateral_value": 0.9,
    "status": "enabled"
   },
   "XETC": {
    "aclass": "currency",
    "altname": "ETC",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XETH": {
    "aclass": "currency",
    "altname": "ETH",
    "decimals": 10,
    "display_decimals": 5,
    "collateral_value": 1,
    "status": "enabled"
   },
   "XLTC": {
    "aclass": "currency",
    "altname": "LTC",
    "decimals": 10,
    "display_decimals": 5,
    "collateral_value": 0.7,
    "status": "enabled"
   },
   "XMLN": {
    "aclass": "currency",
    "altname": "MLN",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XREP": {
    "aclass": "currency",
    "altname": "REP",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XTZ": {
    "aclass": "currency",
    "altname": "XTZ",
    "decimals": 8,
    "display_decimals": 5,
    "collateral_value": 0.5,
    "status": "enabled"
   },
   "XXBT": {
    "aclass": "currency",
    "altname": "XBT",
    "decimals": 10,
    "display_decimals": 5,
    "collateral_value": 1,
    "status": "enabled"
   },
   "XXDG": {
    "aclass": "currency",
    "altname": "XDG",
    "decimals": 8,
    "display_decimals": 2,
    "status": "enabled"
   },
   "XXLM": {
    "aclass": "currency",
    "altname": "XLM",
    "decimals": 8,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XXMR": {
    "aclass": "currency",
    "altname": "XMR",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XXRP": {
    "aclass": "currency",
    "altname": "XRP",
    "decimals": 8,
    "display_decimals": 5,
    "status": "enabled"
   },
   "XZEC": {
    "aclass": "currency",
    "altname": "ZEC",
    "decimals": 10,
    "display_decimals": 5,
    "status": "enabled"
   },
   "ZCAD": {
    "aclass": "currency",
    "altname": "CAD",
    "decimals": 4,
    "display_decimals": 2,
    "collateral_value": 1,
    "status": "enabled"
   },
   "ZEUR": {
    "aclass": "currency",
    "altname": "EUR",
    "decimals": 4,
    "display_decimals": 2,
    "collateral_value": 1,
    "status": "enabled"
   },
   "ZGBP": {
    "aclass": "currency",
    "altname": "GBP",
    "decimals": 4,
    "display_decimals": 2,
    "collateral_value": 1,
    "status": "enabled"
   },
   "ZJPY": {
    "aclass": "currency",
    "altname": "JPY",
    "decimals": 2,
    "display_decimals": 0,
    "collateral_value": 1,
    "status": "enabled"
   },
   "ZUSD": {
    "aclass": "currency",
    "altname": "USD",
    "decimals": 4,
    "display_decimals": 2,
    "collateral_value": 1,
    "status": "enabled"
   }
  }
 },
 "AssetPairs": {
  "error": [],
  "result": {
   "XETHXXBT": {
    "altname": "ETHXBT",
    "wsname": "ETH/XBT",
    "aclass_base": "currency",
    "base": "XETH",
    "aclass_quote": "currency",
    "quote": "XXBT",
    "lot": "unit",
    "cost_decimals": 6,
    "pair_decimals": 5,
    "lot_decimals": 8,
    "lot_multiplier": 1,
    "leverage_buy": [
     2,
     3,
     4,
     5
    ],
    "leverage_sell": [
     2,
     3,
     4,
     5
    ],
    "fees": [
     [
      0,
      0.26
     ],
     [
      50000,
      0.24
     ],
     [
      100000,
      0.22
     ],
     [
      250000,
      0.2
     ],
     [
      500000,
      0.18
     ],
     [
      1000000,
      0.16
     ],
     [
      2500000,
      0.14
     ],
     [
      5000000,
      0.12
     ],
     [
      10000000,
      0.1
     ]
    ],
    "fees_maker": [
     [
      0,
      0.16
     ],
     [
      50000,
      0.14
     ],
     [
      100000,
      0.12
     ],
     [
      250000,
      0.1
     ],
     [
      500000,
      0.08
     ],
     [
      1000000,
      0.06
     ],
     [
      2500000,
      0.04
     ],
     [
      5000000,
      0.02
     ],
     [
      10000000,
      0
     ]
    ],
    "fee_volume_currency": "ZUSD",
    "margin_call": 80,
    "margin_stop": 40,
    "ordermin": "0.01",
    "costmin": "0.00002",
    "tick_size": "0.00001",
    "status": "online",
    "long_position_limit": 1100,
    "short_position_limit": 400
   },
   "XXBTZUSD": {
    "altname": "XBTUSD",
    "wsname": "XBT/USD",
    "aclass_base": "currency",
    "base": "XXBT",
    "aclass_quote": "currency",
    "quote": "ZUSD",
    "lot": "unit",
    "cost_decimals": 5,
    "pair_decimals": 1,
    "lot_decimals": 8,
    "lot_multiplier": 1,
    "leverage_buy": [
     2,
     3,
     4,
     5
    ],
    "leverage_sell": [
     2,
     3,
     4,
     5
    ],
    "fees": [
     [
      0,
      0.26
     ],
     [
      50000,
      0.24
     ],
     [
      100000,
      0.22
     ],
     [
      250000,
      0.2
     ],
     [
      500000,
      0.18
     ],
     [
      1000000,
      0.16
     ],
     [
      2500000,
      0.14
     ],
     [
      5000000,
      0.12
     ],
     [
      10000000,
      0.1
     ]
    ],
    "fees_maker": [
     [
      0,
      0.16
     ],
     [
      50000,
      0.14
     ],
     [
      100000,
      0.12
     ],
     [
      250000,
      0.1
     ],
     [
      500000,
      0.08
     ],
     [
      1000000,
      0.06
     ],
     [
      2500000,
      0.04
     ],
     [
      5000000,
      0.02
     ],
     [
      10000000,
      0
     ]
    ],
    "fee_volume_currency": "ZUSD",
    "margin_call": 80,
    "margin_stop": 40,
    "ordermin": "0.0001",
    "costmin": "0.5",
    "tick_size": "0.1",
    "status": "online",
    "long_position_limit": 250,
    "short_position_limit": 200
   }
  }
 },
 "Ticker": {
  "error": [],
  "result": {
   "XXBTZUSD": {
    "a": [
     "3537.50000",
     "1",
     "1.000"
    ],
    "b": [
     "3537.40000",
     "16",
     "16.000"
    ],
    "c": [
     "3537.50000",
     "0.25000000"
    ],
    "v": [
     "2945.40515179",
     "4009.69918350"
    ],
    "p": [
     "3537.46886",
     "3535.79747"
    ],
    "t": [
     5773,
     6815
    ],
    "l": [
     "3504.20000",
     "3504.20000"
    ],
    "h": [
     "3565.00000",
     "3565.00000"
    ],
    "o": "3530.60000"
   }
  }
 },
 "OHLC": {
  "error": [],
  "result": {
   "XXBTZUSD": [
    [
     1548115200,
     "3533.4",
     "3543.7",
     "3530.7",
     "3539.4",
     "3539.8",
     "83.09287787",
     232
    ],
    [
     1548115200,
     "3533.4",
     "3543.7",
     "3530.7",
     "3539.4",
     "3539.8",
     "83.09287787",
     232
    ]
   ],
   "last": 1548111600
  }
 },
 "Depth": {
  "error": [],
  "result": {
   "XXBTZUSD": {
    "asks": [
     [
      "3539.90000",
      "0.801",
      1548119951
     ],
     [
      "3540.20000",
      "1.000",
      1548119873
     ]
    ],
    "bids": [
     [
      "3538.90000",
      "0.754",
      1548119886
     ],
     [
      "3538.70000",
      "0.798",
      1548119924
     ]
    ]
   }
  }
 },
 "Trades": {
  "error": [],
  "result": {
   "XXBTZUSD": [
    [
     "3535.50000",
     "0.00300000",
     1548111751.5556,
     "b",
     "m",
     ""
    ],
    [
     "3535.40000",
     "0.09670735",
     1548111757.2558,
     "b",
     "m",
     ""
    ]
   ],
   "last": "1548121745957099006"
  }
 },
 "Spread": {
  "error": [],
  "result": {
   "XXBTZUSD": [
    [
     1548120550,
     "3538.70000",
     "3541.50000"
    ],
    [
     1548120551,
     "3538.80000",
     "3541.50000"
    ],
    [
     1548120554,
     "3538.80000",
     "3541.40000"
    ]
   ],
   "last": 1548122302
  }
 },
 "Balance": {
  "error": [],
  "result": {
   "ZUSD": "2970172.7962",
   "ZEUR": "102559.9012",
   "ZCAD": "32300.0000",
   "KFEE": "0.00",
   "XXBT": "3.2223768244",
   "XXRP": "0.00000000",
   "XETH": "995.0000000000",
   "XDAO": "100000.0000000000"
  }
 },
 "TradeBalance": {
  "error": [],
  "result": {
   "eb": "3224744.0162",
   "tb": "3224744.0162",
   "m": "0.0000",
   "n": "0.0000",
   "c": "0.0000",
   "v": "0.0000",
   "e": "3224744.0162",
   "mf": "3224744.0162"
  }
 },
 "OpenOrders": {
  "error": [],
  "result": {
   "open": {
    "O7ICPO-F4CLJ-MVBLHC": {
     "refid": "",
     "userref": "",
     "status": "open",
     "opentm": 1373750306.9819,
     "starttm": 0,
     "expiretm": 0,
     "descr": {
      "order": "sell 3.00000000 XBTUSD @ limit 500.00000"
     },
     "vol": "3.00000000",
     "vol_exec": "0.00000000",
     "cost": "0.00000",
     "fee": "0.00000",
     "price": "0.00000",
     "misc": "",
     "oflags": ""
    }
   }
  }
 },
 "ClosedOrders": {
  "error": [],
  "result": {
   "closed": {
    "OT5JQ3-MNZQI-GDXY7O": {
     "refid": null,
     "userref": 1000,
     "status": "canceled",
     "reason": "User requested",
     "opentm": 1550101012.7873,
     "closetm": 1550101338.364,
     "starttm": 0,
     "expiretm": 0,
     "descr": {
      "pair": "DASHUSD",
      "type": "buy",
      "ordertype": "limit",
      "price": "1.000",
      "price2": "0",
      "leverage": "none",
      "order": "buy 10.00000000 DASHUSD @ limit 1.000",
      "close": ""
     },
     "vol": "10.00000000",
     "vol_exec": "0.00000000",
     "cost": "0.000000",
     "fee": "0.000000",
     "price": "0.000000",
     "stopprice": "0.000000",
     "limitprice": "0.000000",
     "misc": "",
     "oflags": "fciq"
    },
    "OQB6D2-O5QMF-QBBAWZ": {
     "refid": null,
     "userref": 3000,
     "status": "canceled",
     "reason": "User requested",
     "opentm": 1550101013.9522,
     "closetm": 1550101338.0032,
     "starttm": 0,
     "expiretm": 0,
     "descr": {
      "pair": "XBTEUR",
      "type": "buy",
      "ordertype": "limit",
      "price": "1.0",
      "price2": "0",
      "leverage": "none",
      "order": "buy 10.00000000 XBTEUR @ limit 1.0",
      "close": ""
     },
     "vol": "10.00000000",
     "vol_exec": "0.00000000",
     "cost": "0.00000",
     "fee": "0.00000",
     "price": "0.00000",
     "stopprice": "0.00000",
     "limitprice": "0.00000",
     "misc": "",
     "oflags": "fciq"
    },
    "OFESQG-RLWJQ-ZV5AME": {
     "refid": null,
     "userref": 2000,
     "status": "canceled",
     "reason": "User requested",
     "opentm": 1550101013.2046,
     "closetm": 1550101337.6203,
     "starttm": 0,
     "expiretm": 0,
     "descr": {
      "pair": "XBTUSD",
      "type": "buy",
      "ordertype": "limit",
      "price": "1.0",
      "price2": "0",
      "leverage": "none",
      "order": "buy 10.00000000 XBTUSD @ limit 1.0",
      "close": ""
     },
     "vol": "10.00000000",
     "vol_exec": "0.00000000",
     "cost": "0.00000",
     "fee": "0.00000",
     "price": "0.00000",
     "stopprice": "0.00000",
     "limitprice": "0.00000",
     "misc": "",
     "oflags": "fciq"
    }
   },
   "count": 3
  }
 },
 "QueryOrders": {
  "error": [],
  "result": {
   "ODNLO4-QYFSV-33BKJA": {
    "refid": null,
    "userref": 123456,
    "status": "open",
    "opentm": 1550102482.1954,
    "starttm": 0,
    "expiretm": 0,
    "descr": {
     "pair": "XMRUSD",
     "type": "buy",
     "ordertype": "limit",
     "price": "1.00",
     "price2": "0",
     "leverage": "none",
     "order": "buy 10.00000000 XMRUSD @ limit 1.00",
     "close": ""
    },
    "vol": "10.00000000",
    "vol_exec": "0.00000000",
    "cost": "0.00000000",
    "fee": "0.00000000",
    "price": "0.00000000",
    "stopprice": "0.00000000",
    "limitprice": "0.00000000",
    "misc": "",
    "oflags": "fciq"
   },
   "OQB6D2-O5QMF-QBBAWZ": {
    "refid": null,
    "userref": 3000,
    "status": "canceled",
    "reason": "User requested",
    "opentm": 1550101013.9522,
    "closetm": 1550101338.0032,
    "starttm": 0,
    "expiretm": 0,
    "descr": {
     "pair": "XBTEUR",
     "type": "buy",
     "ordertype": "limit",
     "price": "1.0",
     "price2": "0",
     "leverage": "none",
     "order": "buy 10.00000000 XBTEUR @ limit 1.0",
     "close": ""
    },
    "vol": "10.00000000",
    "vol_exec": "0.00000000",
    "cost": "0.00000",
    "fee": "0.00000",
    "price": "0.00000",
    "stopprice": "0.00000",
    "limitprice": "0.00000",
    "misc": "",
    "oflags": "fciq"
   }
  }
 },
 "TradesHistory": {
  "error": [],
  "result": {
   "trades": {
    "TBGB6I-IMYKU-WWA2SK": {
     "ordertxid": "OJTVFU-UWBXK-7AC6ML",
     "postxid": "TKH1SE-X7IF5-CKI7JT",
     "pair": "XXBTZUSD",
     "time": 1428084298.0986,
     "type": "sell",
     "ordertype": "limit",
     "price": "9.25000",
     "cost": "0.92500",
     "fee": "0.00296",
     "vol": "0.10000000",
     "margin": "0.61667",
     "leverage": "0",
     "misc": "",
     "trade_id": 2560488,
     "posstatus": "closed",
     "cprice": "9.2",
     "ccost": "0.9",
     "cfee": "0",
     "cvol": "0.10000000",
     "cmargin": "0.9",
     "net": "-0.0070",
     "trades": [
      "TSOROF-PFCET-MPJ7ZY"
     ]
    },
    "TNJAD2-A56J2-34HIEZ": {
     "ordertxid": "OJTVFU-UWBXK-7AC6ML",
     "postxid": "TLS1SE-X8IF4-DKI7GT",
     "pair": "XXBTZUSD",
     "time": 1428084246.804,
     "type": "sell",
     "ordertype": "limit",
     "price": "9.25000",
     "cost": "0.92500",
     "fee": "0.00296",
     "vol": "0.10000000",
     "margin": "0.61667",
     "leverage": "0",
     "misc": "",
     "trade_id": 2260198,
     "posstatus": "closed",
     "cprice": "9.2",
     "ccost": "0.9",
     "cfee": "0",
     "cvol": "0.10000000",
     "cmargin": "0.9",
     "net": "-0.0070",
     "trades": [
      "TNGJFU-5CD67-ZV3AEO"
     ]
    }
   },
   "count": 2
  }
 },
 "QueryTrades": {
  "error": [],
  "result": {
   "TNGJFU-5CD67-ZV3AEO": {
    "ordertxid": "O5T7NQ-DH2NO-XCSJ3O",
    "postxid": "TNJAD2-A56J2-34HIEZ",
    "pair": "XXBTZUSD",
    "time": 1428084298.0983,
    "type": "buy",
    "ordertype": "market",
    "price": "9.25000",
    "cost": "0.92500",
    "fee": "0.00412",
    "vol": "0.10000000",
    "margin": "0.92500",
    "misc": "closing"
   },
   "TRWCIF-3MJWU-5DYJG5": {
    "ordertxid": "OGUSJ2-JCTEN-ZDLPWE",
    "postxid": "T445PG-PCO2Q-PZTQSG",
    "pair": "XXBTZUSD",
    "time": 1428082705.9649,
    "type": "buy",
    "ordertype": "limit",
    "price": "9.25000",
    "cost": "0.92500",
    "fee": "0.00412",
    "vol": "0.10000000",
    "margin": "0.92500",
    "misc": "closing"
   }
  }
 },
 "Ledgers": {
  "error": [],
  "result": {
   "ledger": {
    "LGBRJU-SQZ4L-5HLS3C": {
     "refid": "QGBCOYA-UNP53O-F2JDNS",
     "time": 1546992921.8426,
     "type": "deposit",
     "aclass": "currency",
     "asset": "XXBT",
     "amount": "0.7812500000",
     "fee": "0.0000000000",
     "balance": "5.4687500000"
    },
    "L3S26P-BHIOV-TTWYYI": {
     "refid": "QGBQAL5-3F4WQ6-DZQT7G",
     "time": 1546992921.8172,
     "type": "deposit",
     "aclass": "currency",
     "asset": "XXBT",
     "amount": "0.7812500000",
     "fee": "0.0000000000",
     "balance": "4.6875000000"
    },
    "LT2T4M-YDT75-42KGMU": {
     "refid": "QGBHWA7-5XFEDC-RIBTM3",
     "time": 1546992921.777,
     "type": "deposit",
     "aclass": "currency",
     "asset": "XXBT",
     "amount": "0.7812500000",
     "fee": "0.0000000000",
     "balance": "3.9062500000"
    },
    "LILCPJ-DKJ53-CZIG5E": {
     "refid": "QGB5XCB-NS67CW-D34ZKM",
     "time": 1546992921.753,
     "type": "deposit",
     "aclass": "currency",
     "asset": "XXBT",
     "amount": "0.7812500000",
     "fee": "0.0000000000",
     "balance": "3.1250000000"
    }
   }
  },
  "count": 4
 },
 "QueryLedgers": {
  "error": [],
  "result": {
   "LGBRJU-SQZ4L-5HLS3C": {
    "refid": "QGBCOYA-UNP53O-F2JDNS",
    "time": 1546992921.8426,
    "type": "deposit",
    "aclass": "currency",
    "asset": "XXBT",
    "amount": "0.7812500000",
    "fee": "0.0000000000",
    "balance": "5.4687500000"
   },
   "L3S26P-BHIOV-TTWYYI": {
    "refid": "QGBQAL5-3F4WQ6-DZQT7G",
    "time": 1546992921.8172,
    "type": "deposit",
    "aclass": "currency",
    "asset": "XXBT",
    "amount": "0.7812500000",
    "fee": "0.0000000000",
    "balance": "4.6875000000"
   }
  }
 },
 "TradeVolume": {
  "error": [],
  "result": {
   "currency": "ZUSD",
   "volume": "3015012348193.4134",
   "fees": {
    "XETCXETH": {
     "fee": "0.1000",
     "minfee": "0.1000",
     "maxfee": "0.2600",
     "nextfee": null,
     "nextvolume": null,
     "tiervolume": "10000000.0000"
    }
   },
   "fees_maker": {
    "XETCXETH": {
     "fee": "0.0000",
     "minfee": "0.0000",
     "maxfee": "0.1600",
     "nextfee": null,
     "nextvolume": null,
     "tiervolume": "10000000.0000"
    }
   }
  }
 },
 "AddOrder": {
  "error": [],
  "result": {
   "descr": {
    "order": "buy 2.12340000 XBTUSD @ limit 25000.1 with 2:1 leverage",
    "close": "close position @ stop loss 22000.0 -> limit 21000.0"
   },
   "txid": [
    "OUF4EM-FRGI2-MQMWZD"
   ]
  }
 },
 "CancelOrder": {
  "error": [],
  "result": {
   "count": 1
  }
 },
 "CancelOrderBatch": {
  "error": [],
  "result": {
   "count": 2
  }
 },
 "EditOrder": {
  "error": [],
  "result": {
   "status": "ok",
   "txid": "OFVXHJ-KPQ3B-VS7ELA",
   "originaltxid": "OHYO67-6LP66-HMQ437",
   "volume": "0.00030000",
   "price": "19500.0",
   "price2": "32500.0",
   "orders_cancelled": 1,
   "descr": {
    "order": "buy 0.00030000 XXBTZGBP @ limit 19500.0"
   }
  }
 },
 "AddOrderBatch": {
  "error": [],
  "result": {
   "orders": [
    {
     "txid": "O5OR23-ADFAD-Y2G61C",
     "descr": {
      "order": "buy 0.80300000 XBTUSD @ limit 28300.0"
     },
     "close": "close position @ stop loss 27000.0 -> limit 26000.0"
    },
    {
     "txid": "9K6KFS-5H3PL-XBRC7A",
     "descr": {
      "order": "sell 0.10500000 XBTUSD @ limit 36000.0"
     }
    }
   ]
  }
 }
}"""


def example(name: str) -> Any:
    return loads(json.dumps(EXAMPLES[name]))  # numbers with fractions become exact Decimal, like the client


EXAMPLES: dict[str, Any] = json.loads(EXAMPLES_JSON)
PARSED: dict[str, Any] = {}


@pytest.mark.parametrize("name", sorted(json.loads(EXAMPLES_JSON)))
def test_every_official_example_parses(name: str) -> None:
    ep = SPOT_ENDPOINTS[name]
    assert ep.response is not None
    envelope = example(name)
    result = ep.response(envelope["result"])
    assert type(result).__name__ == ep.response_type != "RawResult"
    assert result.raw == envelope["result"]
    assert result.warnings == []
    assert repr(result)


def parse(name: str) -> Any:
    ep = SPOT_ENDPOINTS[name]
    assert ep.response is not None
    return ep.response(example(name)["result"])


def test_market_data_attribute_access_and_decimals() -> None:
    ticker = parse("Ticker")["XXBTZUSD"]
    assert ticker.ask == Decimal("3537.50000") and ticker.bid == Decimal("3537.40000")
    assert ticker.last == Decimal("3537.50000") and ticker.open == Decimal("3530.60000")
    assert ticker.t == [5773, 6815] and ticker.volume_24h == Decimal("4009.69918350")
    ohlc = parse("OHLC")
    candle = ohlc.candles[0]
    assert (candle.time, candle.open, candle.volume, candle.count) == (
        1548115200,
        Decimal("3533.4"),
        Decimal("83.09287787"),
        232,
    )
    assert ohlc.pair == "XXBTZUSD" and ohlc.last == 1548111600 and ohlc["XXBTZUSD"] == ohlc.candles
    book = parse("Depth")["XXBTZUSD"]
    assert book.asks[0].price == Decimal("3539.90000") and book.bids[0].volume == Decimal("0.754")
    assert book.asks[0].price < book.asks[1].price
    trades = parse("Trades")
    first = trades.trades[0]
    assert first.price == Decimal("3535.50000") and first.side == "b" and first.ordertype == "m"
    assert first.time == Decimal("1548111751.5556") and isinstance(trades.last, str)
    spread = parse("Spread").spreads[0]
    assert spread.bid == Decimal("3538.70000") and spread.ask == Decimal("3541.50000")
    pair = parse("AssetPairs")["XETHXXBT"]
    assert pair.altname == "ETHXBT" and pair.wsname == "ETH/XBT" and pair.pair_decimals == 5
    assert all(isinstance(v, Decimal) for tier in pair.fees for v in tier)
    asset = parse("Assets")["ADA"]
    assert asset.decimals == 8 and asset.collateral_value == Decimal("0.9")
    assert parse("Time").unixtime == 1546998654


def test_account_orders_trades_ledgers() -> None:
    bal = parse("Balance")
    assert bal["ZUSD"] == Decimal("2970172.7962") and isinstance(bal["XXBT"], Decimal)
    assert parse("TradeBalance").eb == Decimal("3224744.0162")
    open_ = parse("OpenOrders").open["O7ICPO-F4CLJ-MVBLHC"]
    assert open_.vol == Decimal("3.00000000") and open_.opentm == Decimal("1373750306.9819")
    assert open_.descr.order == "sell 3.00000000 XBTUSD @ limit 500.00000"
    closed = parse("ClosedOrders")
    order = closed.closed["OT5JQ3-MNZQI-GDXY7O"]
    assert order.status == "canceled" and order.reason == "User requested" and order.userref == 1000
    assert closed.count == 3
    q = parse("QueryOrders")["ODNLO4-QYFSV-33BKJA"]
    assert q.userref == 123456 and isinstance(q.cost, Decimal)
    trade = parse("TradesHistory").trades["TBGB6I-IMYKU-WWA2SK"]
    assert trade.ordertxid == "OJTVFU-UWBXK-7AC6ML" and isinstance(trade.fee, Decimal)
    assert isinstance(trade.price, Decimal) and isinstance(trade.cost, Decimal)
    assert isinstance(parse("QueryTrades")["TNGJFU-5CD67-ZV3AEO"].vol, Decimal)
    entry = parse("Ledgers").ledger["LGBRJU-SQZ4L-5HLS3C"]
    assert entry.type == "deposit" and isinstance(entry.amount, Decimal) and isinstance(entry.balance, Decimal)
    assert parse("QueryLedgers")["LGBRJU-SQZ4L-5HLS3C"].refid == "QGBCOYA-UNP53O-F2JDNS"
    assert parse("TradeVolume").volume == Decimal("3015012348193.4134")


def test_order_placement_results() -> None:
    placed = parse("AddOrder")
    assert placed.txid == ["OUF4EM-FRGI2-MQMWZD"] and placed.order_id == "OUF4EM-FRGI2-MQMWZD"
    assert placed.descr.order.startswith("buy 2.12340000 XBTUSD") and placed.descr.close
    assert not placed.validated and not placed.recovered
    validated = t.AddOrderResult.parse({"descr": {"order": "buy 1.0 XBTUSD @ limit 1"}})
    assert validated.validated and validated.txid == []
    assert parse("CancelOrder").count == 1 and parse("CancelOrderBatch").count == 2
    edit = parse("EditOrder")
    assert edit.txid == "OFVXHJ-KPQ3B-VS7ELA" and isinstance(edit.volume, Decimal)
    batch = parse("AddOrderBatch")
    assert batch.orders[0].txid == "O5OR23-ADFAD-Y2G61C"


def test_unknown_fields_never_break_parsing_and_stay_in_raw() -> None:
    raw = example("OpenOrders")["result"]
    raw["open"]["O7ICPO-F4CLJ-MVBLHC"]["brand_new_field"] = {"nested": [1, 2]}
    raw["new_top_level"] = True
    result = t.OpenOrders.parse(raw)
    assert result.open["O7ICPO-F4CLJ-MVBLHC"].status == "open"
    assert result.raw["open"]["O7ICPO-F4CLJ-MVBLHC"]["brand_new_field"] == {"nested": [1, 2]}
    ticker = t.Ticker.parse({"XXBTZUSD": {"a": ["1", "1", "1"], "zz": 5}})
    assert ticker["XXBTZUSD"].ask == 1
    ohlc = t.OHLC.parse({"XBTUSD": [[1, "1", "2", "0.5", "1.5", "1.2", "10", 3, "extra-col"]], "last": 1})
    assert ohlc.candles[0].close == Decimal("1.5")


def test_money_is_exact_through_the_client() -> None:
    body = b'{"error":[],"result":{"ZUSD":"0.1000000001","XXBT":0.30000000000000004}}'
    client = SpotClient(
        "k",
        "c2VjcmV0",
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))),
    )
    bal = client.get_account_balance()
    assert bal["ZUSD"] == Decimal("0.1000000001")
    assert bal["XXBT"] == Decimal("0.30000000000000004")
    assert bal.raw["XXBT"] == Decimal("0.30000000000000004")
