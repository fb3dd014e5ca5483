"""A task that allocates far more memory than its limit: the container is OOM-killed."""
from flytekit import Resources, task, workflow

# flytekit itself needs ~80 MB (import) to ~130 MB (running a task); the limit leaves it room,
# then the task touches 400 MB.
LIMIT = Resources(cpu="1", mem="200Mi")


@task(requests=LIMIT, limits=LIMIT)
def hog(mb: int) -> int:
    print(f"kubeshim-hog: allocating {mb} MB", flush=True)
    chunks = []
    for _ in range(mb):
        chunks.append(bytearray(b"x" * (1 << 20)))  # touched, so resident
    return len(chunks)


@workflow
def wf(mb: int = 400) -> int:
    return hog(mb=mb)
