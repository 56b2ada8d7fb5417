"""The window a use case's volume is counted over: the 30 days ending today."""

from datetime import date, timedelta

WINDOW_DAYS = 30


def window_start(today: date) -> date:
    """The first day of the window that ends `today`."""
    return today - timedelta(days=WINDOW_DAYS - 1)
