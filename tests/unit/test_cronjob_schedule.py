"""CronJob decisions without a server: robfig/cron's activations, which scheduled time is due and how many were
missed (pkg/controller/cronjob/utils.go), the Job made for a time, and which finished Jobs the history limits
delete."""
from __future__ import annotations

import datetime as dt

import pytest

from shim.controllers.cronjob import job_from_template, oldest_past_limit, scheduled_timestamp
from shim.controllers.cronschedule import (Missed, ScheduleError, format_schedule, most_recent_schedule_time,
                                           next_schedule_delay, parse)


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def utc(spec: str) -> str:
    return format_schedule(spec, "UTC")


def test_next_is_the_first_activation_strictly_after() -> None:
    every_five = parse(utc("*/5 * * * *"))
    assert every_five.next(at("2024-01-01T10:05:00")) == at("2024-01-01T10:10:00")
    assert every_five.next(at("2024-01-01T10:04:59.9")) == at("2024-01-01T10:05:00")


def test_a_starred_day_field_makes_both_day_fields_apply_as_robfig_does() -> None:
    # 2024-01-01 is a Monday: "*/2" in day-of-month with Monday means odd days that are Mondays (AND)
    sched = parse(utc("0 0 */2 * 1"))
    assert sched.next(at("2024-01-01T00:00:00")) == at("2024-01-15T00:00:00")
    # both restricted: either matches (OR)
    assert parse(utc("0 0 2 * 1")).next(at("2024-01-01T00:00:00")) == at("2024-01-02T00:00:00")


def test_question_mark_means_any_and_descriptors_are_their_fields() -> None:
    assert parse(utc("0 ? * * *")).next(at("2024-01-01T10:30:00")) == at("2024-01-01T11:00:00")
    assert parse(utc("@daily")).next(at("2024-01-01T10:30:00")) == at("2024-01-02T00:00:00")
    assert parse(utc("@every 90s")).next(at("2024-01-01T10:30:00.7")) == at("2024-01-01T10:31:30")
    assert parse("@every 100ms").next(at("2024-01-01T10:30:00")) == at("2024-01-01T10:30:01")


def test_a_time_zone_prefix_moves_the_activations() -> None:
    assert parse(format_schedule("0 9 * * *", "Asia/Tokyo")).next(at("2024-01-01T01:00:00")) == \
        at("2024-01-02T00:00:00")
    assert format_schedule("TZ=UTC 0 9 * * *", "Asia/Tokyo") == "TZ=UTC 0 9 * * *"


def test_the_latest_missed_time_is_due_and_a_few_were_missed() -> None:
    due = most_recent_schedule_time(at("2024-01-01T10:00:30"), None, None, at("2024-01-01T10:05:10"),
                                    parse(utc("* * * * *")), True)
    assert due.most_recent == at("2024-01-01T10:05:00") and due.missed is Missed.FEW


def test_nothing_is_due_before_the_first_activation() -> None:
    due = most_recent_schedule_time(at("2024-01-01T10:00:30"), None, None, at("2024-01-01T10:00:50"),
                                    parse(utc("* * * * *")), True)
    assert due.most_recent is None and due.missed is Missed.NONE


def test_more_than_a_hundred_missed_times_are_many() -> None:
    due = most_recent_schedule_time(at("2024-01-01T07:00:00"), None, None, at("2024-01-01T10:00:10"),
                                    parse(utc("* * * * *")), True)
    assert due.missed is Missed.MANY and due.most_recent == at("2024-01-01T10:00:00")


def test_the_starting_deadline_bounds_how_far_back_times_are_counted() -> None:
    due = most_recent_schedule_time(at("2024-01-01T07:00:00"), at("2024-01-01T08:00:00"), 200,
                                    at("2024-01-01T10:00:10"), parse(utc("* * * * *")), True)
    assert due.missed is Missed.FEW and due.earliest == at("2024-01-01T09:56:50")


def test_a_date_that_never_comes_is_an_invalid_schedule() -> None:
    with pytest.raises(ScheduleError, match="less than 1 second"):
        most_recent_schedule_time(at("2024-01-01T00:00:00"), None, None, at("2024-06-01T00:00:00"),
                                  parse(utc("59 23 31 2 *")), True)


def test_the_controller_looks_again_just_after_the_next_activation() -> None:
    delay = next_schedule_delay(at("2024-01-01T10:00:30"), at("2024-01-01T10:05:00"), None,
                                at("2024-01-01T10:05:10"), parse(utc("* * * * *")))
    assert delay == pytest.approx(50.1)


def cronjob(**spec: object) -> dict[str, object]:
    return {"metadata": {"name": "nightly", "namespace": "default", "uid": "u-1"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {
                "metadata": {"labels": {"app": "n"}, "annotations": {"note": "x"}},
                "spec": {"template": {"spec": {"containers": []}}}}, **spec}}


def test_the_job_is_named_by_its_scheduled_minute_and_carries_the_scheduled_timestamp() -> None:
    job = job_from_template(cronjob(), at("2024-01-01T10:05:00"))
    meta = job["metadata"]
    assert meta["name"] == f"nightly-{int(at('2024-01-01T10:05:00')) // 60}"
    assert meta["annotations"] == {"note": "x", "batch.kubernetes.io/cronjob-scheduled-timestamp":
                                   "2024-01-01T10:05:00Z"}
    assert meta["labels"] == {"app": "n"}
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                                        "uid": "u-1", "controller": True, "blockOwnerDeletion": True}]


def test_the_scheduled_timestamp_is_written_in_the_cronjobs_zone() -> None:
    assert scheduled_timestamp(at("2024-01-01T10:05:00"), "Europe/Berlin") == "2024-01-01T11:05:00+01:00"


def test_history_limits_delete_the_earliest_started_first_and_unstarted_last() -> None:
    def job(name: str, start: str | None) -> dict[str, object]:
        return {"metadata": {"name": name}, "status": {"startTime": start} if start else {}}
    jobs = [job("c", "2024-01-01T10:02:00Z"), job("never", None), job("a", "2024-01-01T10:00:00Z"),
            job("b", "2024-01-01T10:00:00Z")]
    assert [j["metadata"]["name"] for j in oldest_past_limit(jobs, 1)] == ["a", "b", "c"]  # type: ignore[index]
    assert oldest_past_limit(jobs, 4) == []
