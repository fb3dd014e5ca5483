#!/usr/bin/env bash
# Kubernetes' conformance suite (e2e.test v1.34.12) against a fresh kubeshim, and its report:
#
#     tools/conformance.sh                                  # every [Conformance] spec
#     tools/conformance.sh --focus '\[sig-api-machinery\].*\[Conformance\]' --out /tmp/conf
#
# Prints the report (passed/failed/skipped per SIG, failures grouped by cause) and writes it to OUT/report.md.
# Uses the test virtualenv that tests/run makes (.venv, or $KUBESHIM_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${KUBESHIM_VENV:-.venv}"
[[ -x "$VENV/bin/python" ]] || { echo "tools/conformance.sh: no $VENV; run tests/run once first" >&2; exit 1; }
exec "$VENV/bin/python" tools/e2e_conformance.py "$@"
