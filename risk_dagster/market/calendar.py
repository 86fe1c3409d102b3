"""Trading days of the US equity and Treasury market, for the intraday refresh.

The calendar is QuantLib's ``UnitedStates(NYSE)`` (weekends and the NYSE's holidays: New Year,
Martin Luther King Jr. Day, Presidents' Day, Good Friday, Memorial Day, Juneteenth from 2022,
Independence Day, Labor Day, Thanksgiving, Christmas, with their weekend rules). The intraday
session is stated in New York time: 09:30 to 16:00 (the NYSE's regular session).
"""

from __future__ import annotations

import datetime as dt

MARKET_TIME_ZONE = "America/New_York"
SESSION_OPEN = dt.time(9, 30)
SESSION_CLOSE = dt.time(16, 0)


def is_trading_day(day: dt.date) -> bool:
    """True on an NYSE business day."""
    import QuantLib as ql

    return bool(ql.UnitedStates(ql.UnitedStates.NYSE).isBusinessDay(ql.Date(day.day, day.month, day.year)))


def in_session(moment: dt.datetime) -> bool:
    """True when ``moment`` (New York local time) falls in a trading day's regular session."""
    return is_trading_day(moment.date()) and SESSION_OPEN <= moment.time() <= SESSION_CLOSE


__all__ = ["MARKET_TIME_ZONE", "SESSION_CLOSE", "SESSION_OPEN", "in_session", "is_trading_day"]
