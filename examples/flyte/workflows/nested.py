"""A launch plan that calls another launch plan: the child runs as an execution of its own, started by
flyteadmin."""
from flytekit import LaunchPlan, workflow

from workflows.basic import wf as basic

child = LaunchPlan.get_or_create(basic, name="workflows.nested.child")


@workflow
def wf(x: int = 4) -> int:
    square, _ = child(x=x, name="nested")
    return square
