"""How a container actually runs: a provider seam (virtual-kubelet style) and its implementations.

`provider.Provider` is the seam (start, stop, observe, exec, logs); `process.ProcessProvider` runs each container
as a process group under a small supervisor (`supervise.py`) that outlives kubeshim, writes the CRI-format log
and records the exit code; `fake.FakeProvider` keeps containers in memory for tests of the pod logic.
"""
