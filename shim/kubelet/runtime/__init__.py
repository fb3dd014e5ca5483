"""How a container actually runs: a provider seam (virtual-kubelet style) and its local-process implementation.

`provider.Provider` is the seam; `process.ProcessProvider` runs each container as a process group under a small
supervisor (`supervise.py`) that outlives kubeshim, writes the CRI-format log and records the exit code.
"""
