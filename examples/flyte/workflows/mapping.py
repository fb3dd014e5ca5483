"""A map task over a list: one Pod per element (an ArrayNode in Flyte 1.16)."""
from flytekit import Resources, map_task, task, workflow

# Four pods at a time on a 2-core node (CPU limits are enforced; flytekit needs ~1.5 s of CPU to start).
SMALL = Resources(cpu="500m", mem="400Mi")


@task(requests=SMALL, limits=SMALL)
def cube(x: int) -> int:
    return x * x * x


@workflow
def wf(xs: list[int] = list(range(20))) -> list[int]:  # noqa: B006 - flytekit makes it a literal default input
    return map_task(cube)(x=xs)
