"""A long-running task, to abort."""
import time

from flytekit import Resources, task, workflow

# CPU limits are enforced (cgroup CFS quota): importing flytekit costs ~1.5 s of CPU, so give a whole core.
SMALL = Resources(cpu="1", mem="400Mi")


@task(requests=SMALL, limits=SMALL)
def nap(seconds: int) -> int:
    print(f"kubeshim-sleeper: sleeping {seconds}s", flush=True)
    time.sleep(seconds)
    return seconds


@workflow
def wf(seconds: int = 600) -> int:
    return nap(seconds=seconds)
