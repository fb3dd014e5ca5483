"""kubectl's interactive verbs on the wire: exec, attach and port-forward over SPDY/3.1 and WebSocket channels, and
logs over WebSocket.

`spdy` frames SPDY/3.1 streams (moby/spdystream's dialect), `channels` multiplexes WebSocket messages onto numbered
channels (k8s.io/apimachinery's wsstream), `upgrade` hands a raw connection to SPDY from inside an ASGI request,
`remotecommand` and `portforward` speak the two protocols over either, and `endpoints` is the HTTP face that
authenticates, asks the registry's handler to connect and picks the transport.
"""
