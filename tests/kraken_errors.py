"""Kraken's error strings (reference README) and the exception class each must map to.

Shared by the pure mapping tests (tests/unit/core) and the client tests (tests/unit/rest), so the
expected mapping is written down once.
"""

from __future__ import annotations

import krakenkit._core.errors as E

SPOT_ERROR_CLASSES: dict[str, type[E.KrakenAPIError]] = {
    "EGeneral:Invalid arguments:some detail": E.InvalidArgumentsError,
    "EGeneral:Temporary lockout": E.TemporaryLockoutError,
    "EGeneral:Permission denied": E.PermissionDeniedError,
    "EGeneral:Internal error": E.InternalServerError,
    "EGeneral:Too many requests": E.RateLimitError,
    "EService:Unavailable": E.ServiceUnavailableError,
    "EService:Busy": E.ServiceUnavailableError,
    "EService:Market in cancel_only mode": E.MarketModeError,
    "EService:Market in post_only mode": E.MarketModeError,
    "EService:Deadline elapsed": E.DeadlineElapsedError,
    "EAPI:Invalid key": E.InvalidKeyError,
    "EAPI:Invalid signature": E.InvalidSignatureError,
    "EAPI:Invalid nonce": E.InvalidNonceError,
    "EAPI:Rate limit exceeded": E.RateLimitError,
    "EQuery:Unknown asset pair": E.UnknownAssetPairError,
    "EOrder:Unknown order": E.UnknownOrderError,
    "EOrder:Insufficient funds": E.InsufficientFundsError,
    "EOrder:Insufficient margin": E.InsufficientFundsError,
    "EOrder:Order minimum not met": E.OrderMinimumError,
    "EOrder:Cost minimum not met": E.OrderMinimumError,
    "EOrder:Tick size check failed": E.InvalidPriceError,
    "EOrder:Orders limit exceeded": E.OrderLimitError,
    "EOrder:Rate limit exceeded": E.RateLimitError,
    "EOrder:Domain rate limit exceeded": E.RateLimitError,
    "EOrder:Invalid price": E.InvalidPriceError,
    "EOrder:Positions limit exceeded": E.OrderLimitError,
    "EOrder:Margin allowance exceeded": E.InsufficientFundsError,
    "EOrder:Margin level too low": E.InsufficientFundsError,
    "EOrder:Cannot open position": E.PositionError,
    "EOrder:Cannot open opposing position": E.PositionError,
    "EOrder:Reduce only:open position": E.PositionError,
    "EOrder:Scheduled orders limit exceeded": E.OrderLimitError,
    "EOrder:Unknown position": E.PositionError,
    "EAccount:Invalid permissions": E.PermissionDeniedError,
    "EAuth:Account temporary disabled": E.AccountError,
    "EAuth:Account unconfirmed": E.AccountError,
    "EAuth:Rate limit exceeded": E.RateLimitError,
    "EAuth:Too many requests": E.RateLimitError,
    "ETrade:Invalid request": E.InvalidArgumentsError,
    "EBM:limit exceeded:CAL": E.OrderLimitError,
    "EFunding:Max fee exceeded": E.InvalidArgumentsError,
    "EService: Throttled: 1700000000": E.RateLimitError,
}


FUTURES_ERROR_CLASSES: dict[str, type[E.KrakenAPIError]] = {
    "accountInactive": E.AccountError,
    "apiLimitExceeded": E.RateLimitError,
    "authenticationError": E.AuthenticationError,
    "insufficientFunds": E.InsufficientFundsError,
    "invalidAccount": E.AccountError,
    "invalidAmount": E.InvalidArgumentsError,
    "invalidArgument": E.InvalidArgumentsError,
    "invalidUnit": E.InvalidArgumentsError,
    "Json Parse Error": E.InvalidArgumentsError,
    "marketUnavailable": E.ServiceUnavailableError,
    "nonceBelowThreshold": E.InvalidNonceError,
    "nonceDuplicate": E.InvalidNonceError,
    "notFound": E.NotFoundError,
    "requiredArgumentMissing": E.InvalidArgumentsError,
    "Server Error": E.InternalServerError,
    "Unavailable": E.ServiceUnavailableError,
    "unknownError": E.InternalServerError,
}
