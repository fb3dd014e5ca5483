"""pods/{name}/ephemeralcontainers: add debugging containers to a pod (`kubectl debug`). Nothing else of the pod
changes here, and ephemeral containers once added stay as they are (upstream's ephemeral containers strategy)."""
from __future__ import annotations

from shim.machinery import errors, names
from shim.registry.strategy import USER_METADATA, Causes, Obj, Strategy, UpdateRules
from shim.registry.subresource import ObjectView, SubresourceRules

#: what an ephemeral container may not have: it is never restarted, exposed or sized
FORBIDDEN = ("ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle")


class EphemeralContainersRules(SubresourceRules):
    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """The old pod with the new spec.ephemeralContainers."""
        added = (new.get("spec") or {}).get("ephemeralContainers")
        meta = new["metadata"]
        new.clear()
        new.update({key: value for key, value in old.items() if key != "metadata"}, metadata=meta)
        for key in USER_METADATA:
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        new["spec"] = {**(old.get("spec") or {}), "ephemeralContainers": added}
        if not added:
            new["spec"].pop("ephemeralContainers")

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = self.strategy.validate(new)
        spec = new.get("spec") or {}
        before = (old.get("spec") or {}).get("ephemeralContainers") or []
        after = spec.get("ephemeralContainers") or []
        if not isinstance(after, list) or after[:len(before)] != before:
            return causes + [errors.field_forbidden("spec.ephemeralContainers",
                                                    "existing ephemeral containers may not be changed")]
        taken = {c.get("name") for field in ("containers", "initContainers") for c in spec.get(field) or []
                 if isinstance(c, dict)} | {c.get("name") for c in before}
        for i, container in enumerate(after[len(before):], len(before)):
            path = f"spec.ephemeralContainers[{i}]"
            if not isinstance(container, dict):
                causes.append(errors.field_invalid(path, container, "must be an object"))
                continue
            name = container.get("name") or ""
            problems = names.dns1123_label(name) if name else ["name is required"]
            causes += [errors.field_invalid(f"{path}.name", name, p) for p in problems]
            if name in taken:
                causes.append({"reason": "FieldValueDuplicate", "message": f'Duplicate value: "{name}"',
                               "field": f"{path}.name"})
            taken.add(name)
            if not container.get("image"):
                causes.append(errors.field_required(f"{path}.image"))
            causes += [errors.field_forbidden(f"{path}.{key}", "cannot be set for an Ephemeral Container")
                       for key in FORBIDDEN if container.get(key)]
        return causes


class EphemeralContainers(ObjectView):
    name = "ephemeralcontainers"
    verbs = ("get", "patch", "update")

    def rules(self, strategy: Strategy) -> UpdateRules:
        return EphemeralContainersRules(strategy)
