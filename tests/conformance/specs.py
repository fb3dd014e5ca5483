"""The [Conformance] specs of e2e.test v1.34.12 that kubeshim passes, by name: the conformance tier runs exactly
these, and each must pass. tools/conformance.sh runs the whole set and reports the rest."""
from __future__ import annotations

SPECS: tuple[str, ...] = ()
