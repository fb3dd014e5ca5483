"""A task that allocates far more memory than its limit: the container is OOM-killed."""
from flytekit import Resources, task, workflow

# flytekit peaks at ~80 MB RSS before the task body runs (the body prints it), which 100 Mi allows;
# the task then touches 400 MB. With mb=0 the same task succeeds under the same limit.
LIMIT = Resources(cpu="1", mem="100Mi")


@task(requests=LIMIT, limits=LIMIT)
def hog(mb: int) -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"kubeshim-hog: peak RSS so far {peak} MB; allocating {mb} MB", flush=True)
    chunks = []
    for _ in range(mb):
        chunks.append(bytearray(b"x" * (1 << 20)))  # touched, so resident
    return len(chunks)


@workflow
def wf(mb: int = 400) -> int:
    return hog(mb=mb)
