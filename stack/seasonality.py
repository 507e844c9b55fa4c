"""How busy a day and an hour are, per region: weekly rhythm, retail holidays, time of day.

Pure functions of the date, so the seed (and its tests) get the same curve every time.
"""

from __future__ import annotations

import datetime as dt

# Monday .. Sunday: a home-improvement shop sells most at the weekend.
WEEKDAY_WEIGHT = (0.95, 0.90, 0.92, 0.98, 1.08, 1.35, 1.20)

# Local hour of day 0..23: quiet at night, a lunchtime bump and an evening peak.
HOUR_WEIGHT = (0.20, 0.10, 0.06, 0.05, 0.05, 0.10, 0.30, 0.60, 0.90, 1.10, 1.25, 1.30,
               1.40, 1.30, 1.20, 1.15, 1.15, 1.25, 1.45, 1.65, 1.70, 1.40, 0.90, 0.45)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (0 = Monday) of a month; n = -1 for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def black_friday(year: int) -> dt.date:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    return _nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1)


def holiday_factor(day: dt.date, region: str) -> float:
    """Multiplier for retail holidays and sales seasons (1.0 on an ordinary day)."""
    factor = 1.0
    bf = black_friday(day.year)
    since_bf = (day - bf).days
    big = {"NA": 1.0, "EU": 0.8, "APAC": 0.45}[region]  # how much the region joins in
    if since_bf == 0:
        factor *= 1 + 2.4 * big                       # Black Friday
    elif since_bf == -1 and region == "NA":
        factor *= 0.55                                # Thanksgiving
    elif -7 <= since_bf <= -2:
        factor *= 1 + 0.35 * big                      # "Black Friday week" deals
    elif since_bf in (1, 2):
        factor *= 1 + 0.6 * big                       # the weekend after
    elif since_bf == 3:
        factor *= 1 + 1.5 * big                       # Cyber Monday
    if day.month == 12:
        if day.day <= 22:
            factor *= 1.20 + 0.02 * day.day           # pre-Christmas build-up
        elif day.day in (23, 24):
            factor *= 0.75
        elif day.day == 25:
            factor *= 0.25
        elif day.day == 26:
            factor *= 1.5 if region != "APAC" else 1.1  # Boxing Day
        elif day.day == 31:
            factor *= 0.7
    if day.month == 1:
        if day.day == 1:
            factor *= 0.3
        elif day.day <= 10:
            factor *= 1.2                             # January sales
    if day.month == 11 and day.day == 11:
        factor *= {"APAC": 3.0, "EU": 1.25, "NA": 1.1}[region]  # Singles' Day
    if region == "APAC" and day.month == 10 and day.day <= 7:
        factor *= 1.4                                 # Golden Week
    if region == "NA":
        labor_day = _nth_weekday(day.year, 9, 0, 1)
        if -2 <= (day - labor_day).days <= 0:
            factor *= 1.5                             # Labor Day weekend
        if dt.date(day.year, 8, 10) <= day <= dt.date(day.year, 9, 5):
            factor *= 1.15                            # back to school
        if day == _nth_weekday(day.year, 5, 0, -1):
            factor *= 1.6                             # Memorial Day
    if region in ("NA", "EU") and day.month == 7 and 8 <= day.day <= 9:
        factor *= 1.8                                 # mid-summer online sale days
    if region == "EU" and (day.month, day.day) >= (6, 25) and (day.month, day.day) <= (7, 15):
        factor *= 1.15                                # summer sales
    if day.month in (4, 5):
        factor *= 1.15                                # spring garden season
    return factor


def day_weight(day: dt.date, region: str) -> float:
    return WEEKDAY_WEIGHT[day.weekday()] * holiday_factor(day, region)


def hour_weight(local_hour: int) -> float:
    return HOUR_WEIGHT[local_hour % 24]
