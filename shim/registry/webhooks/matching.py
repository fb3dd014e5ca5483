"""Which webhooks a request goes to, as upstream's generic.Webhook.ShouldCallHook decides: the namespaceSelector
(a namespace that cannot be read is an error only for a request the rules match), the objectSelector (the new or
the old object's labels), the rules (the resource as asked, then, under matchPolicy Equivalent, the other
resources serving the same objects), then the matchConditions (CEL; an error denies under failurePolicy Fail)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import orjson

from shim.machinery import cel, errors
from shim.machinery.cel import authorizer as authz
from shim.machinery.users import User
from shim.registry.admission import (ANONYMOUS, Attributes, admission_request, convert, label_selector,
                                     rule_matches, run_expression)
from shim.registry.catalog import Catalog
from shim.registry.resource import ResourceInfo
from shim.registry.webhooks.hooks import Hook
from shim.storage.store import Store

Obj = dict[str, Any]
#: kinds no webhook is called for (rules.IsExemptAdmissionConfigurationResource)
EXEMPT = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
          "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}


def exempt(attrs: Attributes) -> bool:
    return attrs.info.group == "admissionregistration.k8s.io" and attrs.info.kind in EXEMPT


@dataclass(frozen=True)
class Invocation:
    """A webhook to call, and the request as the resource its rules matched sees it."""

    hook: Hook
    info: ResourceInfo
    object: Obj | None
    old_object: Obj | None


class Matcher:
    def __init__(self, store: Store, catalog: Catalog, decide: Callable[[User, Obj], Obj]) -> None:
        self.store = store
        self.catalog = catalog
        #: the authorizer of matchConditions asks this (the server's RBAC)
        self.decide = decide

    def should_call(self, hook: Hook, attrs: Attributes) -> Invocation | None:
        """The invocation, None when the webhook is not for this request; raises the StatusError upstream
        answers when matching itself fails."""
        spec = hook.spec
        namespace_error: errors.StatusError | None = None
        try:
            if not self._namespace_matches(attrs, spec.get("namespaceSelector")):
                return None
        except errors.StatusError as err:
            namespace_error = err
        selector = label_selector(spec.get("objectSelector"))
        if selector is not None and not any(
                o is not None and selector.matches((o.get("metadata") or {}).get("labels") or {})
                for o in (attrs.object, attrs.old_object)):
            return None
        invocation = self._rules_match(hook, attrs)
        if invocation is None:
            return None
        if namespace_error is not None:
            raise namespace_error
        if hook.conditions and not self._conditions_match(hook, attrs, invocation):
            return None
        return invocation

    def _namespace_matches(self, attrs: Attributes, selector_spec: Any) -> bool:
        is_namespace = attrs.info.group == "" and attrs.info.plural == "namespaces"
        if not attrs.namespace and not is_namespace:
            return True
        selector = label_selector(selector_spec)
        if selector is None:
            return True
        if is_namespace and not attrs.subresource and attrs.operation in ("CREATE", "UPDATE"):
            labels = ((attrs.object or {}).get("metadata") or {}).get("labels") or {}
        else:
            name = attrs.namespace or attrs.name
            entry = self.store.get("/namespaces", "", name)
            if entry is None:
                raise errors.not_found("namespaces", name)
            labels = orjson.loads(entry.raw)["metadata"].get("labels") or {}
        return selector.matches(labels)

    def _rules_match(self, hook: Hook, attrs: Attributes) -> Invocation | None:
        rules = hook.spec.get("rules") or []
        if any(rule_matches(rule, attrs, attrs.info) for rule in rules):
            return Invocation(hook, attrs.info, attrs.object, attrs.old_object)
        if hook.exact:
            return None
        equivalents = [r for r in self.catalog.all()
                       if r.storage == attrs.info.storage and r is not attrs.info and r.handler is None
                       and (not attrs.subresource or attrs.subresource in r.subresources)]
        for rule in rules:
            for other in equivalents:
                if rule_matches(rule, attrs, other):
                    return Invocation(hook, other, convert(attrs.info, other, attrs.object),
                                      convert(attrs.info, other, attrs.old_object))
        return None

    def _conditions_match(self, hook: Hook, attrs: Attributes, invocation: Invocation) -> bool:
        """matchconditions.Matcher: any false condition skips the webhook; otherwise errors deny under Fail
        (a Forbidden naming them) and skip under Ignore."""
        authorizer = authz.Authorizer(self.decide, attrs.user or ANONYMOUS)
        activation: Obj = {
            "object": cel.to_cel(invocation.object), "oldObject": cel.to_cel(invocation.old_object),
            "request": cel.to_cel(admission_request(attrs, invocation.info)), "namespaceObject": None,
            "params": None,
            "authorizer": authz.Variable(authorizer, authz.ResourceCheck(
                authorizer, attrs.info.group, attrs.info.plural, attrs.subresource, attrs.namespace, attrs.name)),
        }
        failures = []
        for _, program in hook.conditions:
            try:
                if run_expression(program, activation) is False:
                    return False
            except cel.EvalError as err:
                failures.append(err.message)
        if not failures:
            return True
        if hook.ignores_failures:
            return False
        message = failures[0] if len(failures) == 1 else f"[{', '.join(failures)}]"
        raise errors.forbidden(attrs.info.plural, attrs.name, message, attrs.info.group)
