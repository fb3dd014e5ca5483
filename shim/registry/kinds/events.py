"""Events: stored in core/v1 form; events.k8s.io/v1 is the same storage seen through a conversion."""
from __future__ import annotations

from typing import Any

from shim.machinery import names, tables, timeutil
from shim.registry.strategy import NoStatusStrategy, Obj

_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")


class EventStrategy(NoStatusStrategy):
    """Selectable fields are computed for both API shapes: core and events.k8s.io share one storage (and one
    cached set of attributes per stored object), each shape only allows its own names (field_labels)."""

    field_labels = frozenset({f"involvedObject.{f}" for f in _INVOLVED}
                             | {"metadata.name", "metadata.namespace", "reason", "reportingComponent", "source",
                                "type"})

    def validate_name(self, name: str) -> list[str]:
        return names.path_segment(name) if name else ["name is required"]

    def prepare_for_create(self, obj: Obj) -> None:
        if not obj.get("firstTimestamp") and not obj.get("eventTime"):
            obj["firstTimestamp"] = timeutil.now_string()
        if not obj.get("lastTimestamp") and obj.get("firstTimestamp"):
            obj["lastTimestamp"] = obj["firstTimestamp"]
        obj.setdefault("count", 1)

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        involved = obj.get("involvedObject") or {}
        for f in _INVOLVED:
            out[f"involvedObject.{f}"] = out[f"regarding.{f}"] = str(involved.get(f, ""))
        out["reason"] = obj.get("reason", "")
        out["reportingComponent"] = out["reportingController"] = obj.get("reportingComponent", "")
        out["source"] = (obj.get("source") or {}).get("component", "")
        out["type"] = obj.get("type", "")
        return out

    def table_columns(self) -> list[dict[str, Any]]:
        return EVENT_COLUMNS

    def table_cells(self, obj: Obj) -> list[Any]:
        return event_cells(obj)


EVENT_COLUMNS = [
    tables.column("Last Seen", description="The time at which the most recent occurrence of this event was "
                  "recorded."),
    tables.column("Type", description="Type of this event (Normal, Warning), new types could be added in the "
                  "future"),
    tables.column("Reason", description="This should be a short, machine understandable string that gives the "
                  "reason for the transition into the object's current status."),
    tables.column("Object", description="The object that this event is about."),
    tables.column("Subobject", priority=1, description="If referring to a piece of an object instead of an "
                  "entire object, this string should contain a valid JSON/Go-field access statement."),
    tables.column("Source", priority=1, description="The component reporting this event."),
    tables.column("Message", description="A human-readable description of the status of this operation."),
    tables.column("First Seen", priority=1, description="The time at which the event was first recorded."),
    tables.column("Count", priority=1, description="The number of times this event has occurred."),
    {**tables.NAME_COLUMN, "priority": 1},
]


def event_cells(obj: Obj) -> list[Any]:
    """Upstream's printEvent for either API shape (the server prints both through the core form): Last Seen,
    Type, Reason, Object, Message, and for -o wide Subobject, Source, First Seen, Count and Name."""
    event = to_core(obj) if obj.get("apiVersion") == "events.k8s.io/v1" else obj
    first = tables.since(event.get("firstTimestamp") or event.get("eventTime"))
    last = tables.since(event["lastTimestamp"]) if event.get("lastTimestamp") else first
    count = event.get("count") or 1
    series = event.get("series")
    if isinstance(series, dict):
        last = tables.since(series.get("lastObservedTime"))
        count = series.get("count") or count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {instance}" if instance else component, str(event.get("message", "")).strip(), first,
            int(count), (event.get("metadata") or {}).get("name", "")]


class EventsV1Strategy(EventStrategy):
    """events.k8s.io/v1 selects by `regarding.*`; objects reach the strategy in their stored (core) form."""

    field_labels = frozenset({f"regarding.{f}" for f in _INVOLVED}
                             | {"metadata.name", "metadata.namespace", "reason", "reportingController", "type"})
    #: served converted from the stored core/v1 Event, and not type-checked in this form
    go_typed = False

    def prepare_for_create(self, obj: Obj) -> None:
        """events.k8s.io clients set eventTime themselves; the core defaults do not apply."""


#: events.k8s.io/v1 field -> core/v1 field (pkg/apis/events/v1 conversion); the reverse is the same table
V1_TO_CORE = {"regarding": "involvedObject", "related": "related", "note": "message", "reason": "reason",
              "type": "type", "action": "action", "eventTime": "eventTime", "series": "series",
              "reportingController": "reportingComponent", "reportingInstance": "reportingInstance",
              "deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
              "deprecatedCount": "count", "deprecatedSource": "source"}
CORE_TO_V1 = {core: v1 for v1, core in V1_TO_CORE.items()}


def _rename(obj: Obj, names: dict[str, str], api_version: str) -> Obj:
    out: Obj = {"apiVersion": api_version, "kind": "Event", "metadata": obj.get("metadata", {})}
    for source, target in names.items():
        if obj.get(source) is not None:
            out[target] = obj[source]
    return out


def to_core(obj: Obj) -> Obj:
    """events.k8s.io/v1 Event -> core/v1 Event."""
    out = _rename(obj, V1_TO_CORE, "v1")
    out.setdefault("involvedObject", {})
    return out


def from_core(obj: Obj) -> Obj:
    """core/v1 Event -> events.k8s.io/v1 Event."""
    out = _rename(obj, CORE_TO_V1, "events.k8s.io/v1")
    for key in ("eventTime", "deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        out.setdefault(key, None)  # Go marshals a zero metav1.Time as null (omitempty leaves structs alone)
    return out
