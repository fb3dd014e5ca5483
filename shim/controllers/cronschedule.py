"""CronJob schedules as the CronJob controller reads them (robfig/cron v3's ParseStandard and Schedule.Next, and
pkg/controller/cronjob/utils.go): the next activation after a time, computed by croniter, and which scheduled
time is due now, how many were missed, and when to look again.

Times are seconds since the epoch. robfig/cron's quirks kept: `?` means `*`; a day-of-month or day-of-week field
written with `*` (also `*/n`) makes the two fields both apply, otherwise either one does; Next gives up after five
years (an impossible date such as Feb 31 never fires); `@every d` fires d (whole seconds, at least one) after the
previous time; without TZ= the schedule is in the controller's local zone.
"""
from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from croniter import CroniterBadDateError, croniter
from dateutil import tz

from shim.machinery.cron import CronError, parse_standard

#: robfig/cron's descriptors as the five fields they stand for
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
#: how far robfig/cron's Next looks before it gives up
_SEARCH_YEARS = 5
#: requeue slightly after a scheduled time, against clock skew (nextScheduleDelta)
NEXT_SCHEDULE_DELTA = 0.1
#: more missed start times than this is an event, not a backlog to run (mostRecentScheduleTime)
MANY_MISSED = 100


class Schedule(Protocol):
    def next(self, after: float) -> float | None:
        """The first activation strictly after `after` (whole seconds), None if there is none in five years."""
        ...


@dataclass(frozen=True)
class EverySchedule:
    """`@every d` (ConstantDelaySchedule)."""

    delay: int

    def next(self, after: float) -> float | None:
        return float(int(after // 1) + self.delay)


@dataclass(frozen=True)
class CronSchedule:
    fields: str
    zone: _dt.tzinfo
    day_or: bool

    def next(self, after: float) -> float | None:
        start = _dt.datetime.fromtimestamp(int(after // 1), self.zone)
        try:
            found = croniter(self.fields, start, day_or=self.day_or,
                             max_years_between_matches=_SEARCH_YEARS).get_next(float)
        except CroniterBadDateError:
            return None
        return float(found)


def _go_duration(text: str) -> float:
    """Seconds in a Go duration ("1h30m", "90s"); the syntax is checked by parse_standard first."""
    sign = -1.0 if text.startswith("-") else 1.0
    if text.lstrip("+-") == "0":
        return 0.0
    return sign * sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text.lstrip("+-")))


def _zone(name: str) -> _dt.tzinfo:
    if name in ("", "UTC"):
        return _dt.timezone.utc
    if name == "Local":
        return _local()
    return zoneinfo.ZoneInfo(name)


def _local() -> _dt.tzinfo:
    """The controller's own zone, daylight saving included (Go's time.Local)."""
    local: _dt.tzinfo = tz.tzlocal()
    return local


def _robfig_field(field: str) -> str:
    """A field with robfig's `?` (any range starting with it) written as croniter's `*`."""
    return ",".join("*" + part[1:] if part.startswith("?") else part for part in field.split(","))


def parse(spec: str) -> Schedule:
    """cron.ParseStandard: CronError with robfig's message for what it refuses."""
    parse_standard(spec)
    zone = _local()
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        zone = _zone(head.split("=", 1)[1])
        spec = spec.strip()
    if spec.startswith("@every "):
        seconds = int(_go_duration(spec[len("@every "):]))
        return EverySchedule(max(seconds, 1))
    fields = _DESCRIPTORS.get(spec, spec).split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    fields = [_robfig_field(f) for f in fields]
    starred = any(part.startswith("*") for f in (fields[2], fields[4]) for part in f.split(","))
    return CronSchedule(" ".join(fields), zone, day_or=not starred)


def format_schedule(schedule: str, time_zone: str | None) -> str:
    """The schedule with spec.timeZone as a TZ= prefix (formatSchedule), unless it names a zone itself or the zone
    does not load."""
    if "TZ" in schedule or time_zone is None:
        return schedule
    try:
        _zone(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return schedule
    return f"TZ={time_zone} {schedule}"


class Missed(Enum):
    NONE = "none"
    FEW = "few"
    MANY = "many"


class ScheduleError(ValueError):
    """A schedule that parses but never fires, or fires twice in a second."""


@dataclass(frozen=True)
class Due:
    earliest: float
    most_recent: float | None
    missed: Missed


def most_recent_schedule_time(created: float, last_schedule: float | None, starting_deadline: int | None,
                              now: float, schedule: Schedule, with_deadline: bool) -> Due:
    """The time schedules are counted from, the latest scheduled time not after `now` (None if none is due), and
    whether none, a few or many were missed (mostRecentScheduleTime). ScheduleError when two activations are less
    than a second apart, as for a date that never comes."""
    earliest = last_schedule if last_schedule is not None else created
    if with_deadline and starting_deadline is not None:
        earliest = max(earliest, now - starting_deadline)
    t1 = schedule.next(earliest)
    t2 = schedule.next(t1) if t1 is not None else None
    if t1 is not None and now < t1:
        return Due(earliest, None, Missed.NONE)
    if t1 is not None and t2 is not None and now < t2:
        return Due(earliest, t1, Missed.NONE)
    if t1 is None or t2 is None or round(t2 - t1) < 1:
        raise ScheduleError("time difference between two schedules is less than 1 second")
    between = int(round(t2 - t1))
    missed = int(now - t1) // between + 1
    recent: float | None = None
    t = schedule.next(t1 + (missed - 2) * between)
    while t is not None and t <= now:
        recent = t
        t = schedule.next(t)
    kind = Missed.MANY if missed > MANY_MISSED else Missed.FEW
    return Due(earliest, recent, kind)


def next_schedule_delay(created: float, last_schedule: float | None, starting_deadline: int | None, now: float,
                        schedule: Schedule) -> float:
    """Seconds until the controller should look again: just after the next activation (nextScheduleTimeDuration)."""
    try:
        due = most_recent_schedule_time(created, last_schedule, starting_deadline, now, schedule, False)
        base = due.most_recent if due.most_recent is not None else (
            due.earliest if due.missed is Missed.NONE else now)
    except ScheduleError:
        base = now
    following = schedule.next(base)
    return (following if following is not None else now) + NEXT_SCHEDULE_DELTA - now
