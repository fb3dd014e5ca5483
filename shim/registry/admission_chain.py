"""kube-apiserver's admission chain as kubeshim runs it: mutating webhooks (after defaulting, before the kind's
own validation), then ValidatingAdmissionPolicies and validating webhooks (after it, before the write), in
upstream's plugin order."""
from __future__ import annotations

from typing import Any

from shim.registry.admission import Attributes, PolicyAdmission
from shim.registry.webhooks.dispatch import WebhookAdmission

Obj = dict[str, Any]


class AdmissionChain:
    """The Admission the verbs layer gives the generic store."""

    def __init__(self, policies: PolicyAdmission, webhooks: WebhookAdmission) -> None:
        self.policies = policies
        self.webhooks = webhooks

    async def mutate(self, attrs: Attributes) -> tuple[Obj | None, tuple[str, ...]]:
        mutation = await self.webhooks.mutate(attrs)
        return mutation.object, mutation.warnings

    async def validate(self, attrs: Attributes) -> tuple[str, ...]:
        warnings = self.policies.validate(attrs)
        return warnings + await self.webhooks.validate(attrs)
