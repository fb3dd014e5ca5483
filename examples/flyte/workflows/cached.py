"""A cached task: the second execution with the same input is served from datacatalog, without a pod."""
from flytekit import Resources, task, workflow

SMALL = Resources(cpu="1", mem="400Mi")


@task(cache=True, cache_version="1", requests=SMALL, limits=SMALL)
def slow_square(x: int) -> int:
    print(f"kubeshim-cached: computing {x} * {x}", flush=True)
    return x * x


@workflow
def wf(x: int = 9) -> int:
    return slow_square(x=x)
