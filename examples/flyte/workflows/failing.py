"""A task that always fails with a recoverable error, so Flyte retries it (retries=2: 3 attempts)."""
from flytekit import Resources, task, workflow
from flytekit.exceptions.user import FlyteRecoverableException

# CPU limits are enforced (cgroup CFS quota): importing flytekit costs ~1.5 s of CPU, so give a whole core.
SMALL = Resources(cpu="1", mem="400Mi")
MESSAGE = "kubeshim-intentional-failure: the answer is not"


@task(retries=2, requests=SMALL, limits=SMALL)
def flaky(x: int) -> int:
    # A plain exception is a non-recoverable user error (no retries); a recoverable one is retried.
    if x >= 0:
        raise FlyteRecoverableException(f"{MESSAGE} {x}")
    return x


@workflow
def wf(x: int = 42) -> int:
    return flaky(x=x)
