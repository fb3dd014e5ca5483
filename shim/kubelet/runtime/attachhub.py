"""The supervisor's side of the attach socket (see attachwire.py): clients come and go while the program runs.

Every attached client gets the program's output from the moment it attached (the streams it asked for). Input
from clients that attached with stdin goes to the program's stdin, when the container has one (`stdin: true`):
a pipe, or the terminal's input with `tty: true`; a terminal also takes the clients' resizes. With `stdinOnce`,
the program's stdin closes once the first client that attached with stdin detaches or ends its input, as the
runtime closes it upstream; a terminal's input cannot be closed alone: it is hung up then, as containerd closes
the console when the stdin it copies ends. A client that reads
too slowly is detached rather than stalling the program; input waits while the program does not read it.
Standard library only, driven by the supervisor's selector: callbacks are the registrations' data.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import selectors
import signal
import socket
import struct
import sys
import termios

from shim.kubelet.runtime import attachwire as wire

#: output queued for one client beyond which it is detached
MAX_BACKLOG = 8 << 20
#: input queued for the program beyond which clients are not read
MAX_INPUT = 1 << 20


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = wire.Decoder()
        self.out = bytearray()
        self.wants = 0
        self.input_open = False


class Hub:
    """Serves attach.sock in `cdir`. `stdin`: the fd the program's input is written to (the pipe's writing end,
    or a duplicate of the terminal's master), None without `stdin: true`; `terminal`: the master, for resizes;
    `program`: the program's pid (the session a terminal hangs up on)."""

    def __init__(self, cdir: str, sel: selectors.BaseSelector, *, stdin: int | None, stdin_once: bool,
                 terminal: int | None, program: int) -> None:
        self.sel = sel
        self.program = program
        self.stdin = stdin
        self.stdin_once = stdin_once
        self.terminal = terminal
        self.pending = bytearray()
        #: stdinOnce has fired: the input closes once what was typed has reached the program
        self.closing = False
        self.clients: list[Client] = []
        self.cdir = cdir
        self.listener: socket.socket | None = None
        try:
            self.listener = _listen(cdir)
        except OSError as exc:  # the program runs anyway, unattachable: say why where the kubelet looks
            print(f"cannot serve {wire.SOCKET}: {exc}", file=sys.stderr, flush=True)
        else:
            sel.register(self.listener, selectors.EVENT_READ, self._accept)
        if stdin is not None:
            os.set_blocking(stdin, False)

    # -- what the supervisor calls ---------------------------------------------------------------------------
    def output(self, kind: int, data: bytes) -> None:
        """The program wrote `data` on STDOUT or STDERR: to every client that asked for it."""
        want = wire.WANTS_STDOUT if kind == wire.STDOUT else wire.WANTS_STDERR
        for client in list(self.clients):
            if client.wants & want:
                for start in range(0, len(data), wire.MAX_PAYLOAD):
                    client.out += wire.frame(kind, data[start:start + wire.MAX_PAYLOAD])
                if len(client.out) > MAX_BACKLOG:
                    self._drop(client)
                else:
                    self._watch_client(client)

    def flushed(self) -> bool:
        return not any(client.out for client in self.clients)

    def close(self) -> None:
        """The program has ended: every client is detached (they see the connection end) and the socket goes."""
        for client in list(self.clients):
            self._drop(client)
        if self.listener is not None:
            self.sel.unregister(self.listener)
            self.listener.close()
        with contextlib.suppress(OSError):
            dir_fd = wire.open_dir(self.cdir)
            try:
                os.unlink(wire.address(dir_fd))
            finally:
                os.close(dir_fd)
        self._close_stdin()

    # -- clients ---------------------------------------------------------------------------------------------
    def _accept(self, events: int) -> None:
        assert self.listener is not None
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        client = Client(sock)
        self.clients.append(client)
        self._watch_client(client)

    def _watch_client(self, client: Client) -> None:
        events = (selectors.EVENT_READ if len(self.pending) < MAX_INPUT else 0) | \
            (selectors.EVENT_WRITE if client.out else 0)
        _watch(self.sel, client.sock, events, functools.partial(self._client_event, client))

    def _client_event(self, client: Client, events: int) -> None:
        if events & selectors.EVENT_WRITE and client.out:
            try:
                sent = client.sock.send(client.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(client)
                return
            del client.out[:sent]
        if events & selectors.EVENT_READ:
            try:
                data = client.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                self._drop(client)
                return
            if data:
                for kind, payload in client.decoder.feed(data):
                    self._message(client, kind, payload)
                if client.decoder.broken:
                    self._drop(client)
                    return
        if client in self.clients:
            self._watch_client(client)

    def _message(self, client: Client, kind: int, payload: bytes) -> None:
        if kind == wire.HELLO and payload:
            client.wants = payload[0]
            client.input_open = bool(client.wants & wire.WANTS_STDIN)
        elif kind == wire.STDIN and client.input_open and self.stdin is not None:
            self.pending += payload
            self._watch_stdin()
        elif kind == wire.STDIN_END:
            self._input_ended(client)
        elif kind == wire.RESIZE and len(payload) == wire.SIZE.size and self.terminal is not None:
            resize(self.terminal, *wire.SIZE.unpack(payload))

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
            _watch(self.sel, client.sock, 0, None)
            client.sock.close()
            self._input_ended(client)

    def _input_ended(self, client: Client) -> None:
        if client.input_open:
            client.input_open = False
            if self.stdin_once and not self.closing:
                self.closing = True
                for other in self.clients:
                    other.input_open = False
                if not self.pending:
                    self._close_stdin(hang_up=True)

    # -- the program's input ---------------------------------------------------------------------------------
    def _watch_stdin(self) -> None:
        if self.stdin is not None:
            _watch(self.sel, self.stdin, selectors.EVENT_WRITE if self.pending else 0, self._writable)

    def _writable(self, events: int) -> None:
        assert self.stdin is not None
        try:
            written = os.write(self.stdin, self.pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the program closed its stdin: what it will not read is dropped
            written = len(self.pending)
        del self.pending[:written]
        self._watch_stdin()
        if not self.pending and self.closing:
            self._close_stdin(hang_up=True)
        for client in self.clients:
            self._watch_client(client)

    def _close_stdin(self, hang_up: bool = False) -> None:
        """No more input; on a terminal (`hang_up`), SIGHUP to its foreground job and the program, as the kernel
        sends them when a terminal's master closes."""
        if self.stdin is None:
            return
        _watch(self.sel, self.stdin, 0, None)
        os.close(self.stdin)
        self.stdin = None
        self.pending.clear()
        if hang_up and self.terminal is not None:
            with contextlib.suppress(OSError):
                os.killpg(os.tcgetpgrp(self.terminal), signal.SIGHUP)
            with contextlib.suppress(OSError):
                os.kill(self.program, signal.SIGHUP)


def resize(terminal: int, width: int, height: int) -> None:
    """TIOCSWINSZ: the kernel tells the terminal's foreground job with SIGWINCH."""
    with contextlib.suppress(OSError):
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _listen(cdir: str) -> socket.socket:
    """attach.sock in `cdir`, for the kubelet's user alone."""
    dir_fd = wire.open_dir(cdir)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(wire.address(dir_fd))
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            listener.bind(wire.address(dir_fd))
            os.chmod(wire.address(dir_fd), 0o600)
            listener.listen(16)
        except OSError:
            listener.close()
            raise
    finally:
        os.close(dir_fd)
    listener.setblocking(False)
    return listener


def _watch(sel: selectors.BaseSelector, fileobj: int | socket.socket, events: int, callback: object) -> None:
    """Register, modify or drop one registration (a selector takes no empty interest)."""
    try:
        key = sel.get_key(fileobj)
    except KeyError:
        key = None
    if not events:
        if key is not None:
            sel.unregister(fileobj)
    elif key is None:
        sel.register(fileobj, events, callback)
    elif key.events != events:
        sel.modify(fileobj, events, callback)
