"""A task that reads two secrets propeller's pod webhook injects: one as an environment variable, one as a file."""
from flytekit import Resources, Secret, current_context, task, workflow

SMALL = Resources(cpu="1", mem="400Mi")
GROUP = "kubeshim"


@task(requests=SMALL, limits=SMALL, secret_requests=[
    Secret(group=GROUP, key="token", mount_requirement=Secret.MountType.ENV_VAR),
    Secret(group=GROUP, key="password", mount_requirement=Secret.MountType.FILE)])
def read_secrets() -> str:
    secrets = current_context().secrets
    token = secrets.get(GROUP, "token")
    with open(secrets.get_secrets_file(GROUP, "password")) as fh:
        password = fh.read()
    return f"token={token} password={password}"


@workflow
def wf() -> str:
    return read_secrets()
