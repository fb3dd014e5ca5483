"""Two Python tasks passing values: an int from the first feeds the second."""
from flytekit import Resources, task, workflow

# CPU limits are enforced (cgroup CFS quota): importing flytekit costs ~1.5 s of CPU, so give a whole core.
SMALL = Resources(cpu="1", mem="400Mi")


@task(requests=SMALL, limits=SMALL)
def square(x: int) -> int:
    print(f"kubeshim-square: {x} * {x} = {x * x}", flush=True)
    return x * x


@task(requests=SMALL, limits=SMALL)
def describe(name: str, value: int) -> str:
    text = f"hello {name}, the square is {value}"
    print(f"kubeshim-describe: {text}", flush=True)
    return text


@workflow
def wf(x: int = 7, name: str = "kubeshim") -> tuple[int, str]:
    sq = square(x=x)
    return sq, describe(name=name, value=sq)
