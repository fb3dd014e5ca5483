"""A map task over a list: one Pod per element (an ArrayNode in Flyte 1.16)."""
from flytekit import Resources, map_task, task, workflow

SMALL = Resources(cpu="50m", mem="400Mi")


@task(requests=SMALL, limits=SMALL)
def cube(x: int) -> int:
    return x * x * x


@workflow
def wf(xs: list[int] = list(range(20))) -> list[int]:
    return map_task(cube)(x=xs)
