#!/usr/bin/env bash
# Create (idempotently) the Python environment that Flyte task pods run in, and print its bin directory:
#
#     examples/flyte/task-env.sh
#
# The same environment `kubeshim flyte up` makes on first use (pins and logic: shim/cli/flyte/taskenv.py).
#
# Environment:
#   KUBESHIM_FLYTE_TASK_VENV  where the venv goes (default ~/.cache/kubeshim/flyte/task-venv)
#   PYTHON                    interpreter to create it with (default: the one running this, python3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
exec "${PYTHON:-python3}" -m shim.cli.flyte.taskenv
