#!/usr/bin/env bash
# Create (idempotently) the Python environment that Flyte task pods run in:
#
#     examples/flyte/task-env.sh
#
# It is a virtualenv of its own, apart from kubeshim's environment: flytekit's
# dependency tree (botocore, fsspec, grpcio, ...) conflicts with the kubernetes
# client's, and a task environment is what an image rule points at anyway.
# Prints the venv's bin directory at the end (pyflyte, pyflyte-execute live there).
#
# Environment:
#   KUBESHIM_FLYTE_TASK_VENV  where the venv goes (default ~/.cache/kubeshim/flyte/task-venv)
#   PYTHON                    interpreter to create it with (default python3, must be >= 3.9)
set -euo pipefail

# flytekit 1.16.x is the SDK line released with Flyte 1.16; flyteidl pinned to the
# IDL of Flyte v1.16.8 so the task side speaks exactly the protos propeller does.
FLYTEKIT_VERSION=1.16.31
FLYTEIDL_VERSION=1.16.8

venv="${KUBESHIM_FLYTE_TASK_VENV:-$HOME/.cache/kubeshim/flyte/task-venv}"
python="${PYTHON:-python3}"
stamp="$venv/.kubeshim-task-env"
want="flytekit==$FLYTEKIT_VERSION flyteidl==$FLYTEIDL_VERSION"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/pyflyte-execute" ]]; then
    echo "$venv/bin"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# Exact pins keep pip's resolver from backtracking through old flytekit releases.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "flytekit==$FLYTEKIT_VERSION" "flyteidl==$FLYTEIDL_VERSION"
"$venv/bin/pyflyte" --help > /dev/null
"$venv/bin/pyflyte-execute" --help > /dev/null
echo "$want" > "$stamp"
echo "$venv/bin"
