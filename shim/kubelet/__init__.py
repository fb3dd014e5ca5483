"""The node agent: registers a Node, schedules and runs Pods as local process groups, reports their status.

Everything here talks to the API only through `shim.clients.base.Client`, so the same kubelet can serve an
in-process registry or a remote API server. This package imports nothing, so that the tiny container supervisor
(`python -m shim.kubelet.runtime.supervise`) starts without pulling in asyncio, psutil or the client stack.
"""
