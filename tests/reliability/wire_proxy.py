"""A TCP proxy between one client process and PostgreSQL that SIGKILLs the client at one chosen message.

Statements take milliseconds, so a kill timed from outside lands anywhere; this one lands exactly
"at" a statement. The proxy reads the client's side of the PostgreSQL wire protocol message by
message (an untyped startup message first, then a type byte and an int32 length that counts
itself) and forwards the server's side as it comes. When the trigger recognises a message it
kills the client, either BEFORE forwarding that message (the statement never reaches the server)
or AFTER forwarding it but before any of the server's answer goes back (the statement runs on the
server while its client is gone). Then it closes every connection on both sides, as the dead
client's kernel would, and accepts no more.

The client must not encrypt (``sslmode=disable&gssencmode=disable`` in its URL), or the proxy could
not read its messages.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum

_NEGOTIATIONS = {80877103, 80877104}  # SSLRequest, GSSENCRequest: another untyped message follows them


class When(Enum):
    BEFORE = "before"  # kill before forwarding the message: the server never sees it
    AFTER = "after"  # forward it, then kill before forwarding the server's answer

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Message:
    connection: int  # which client connection (0 for the first one accepted)
    kind: str  # the type byte ('Q' a simple query, 'P' a Parse, …); '' for an untyped startup message
    raw: bytes  # the whole message, as forwarded

    @property
    def text(self) -> str:
        """A Query's SQL, or a Parse's (its statement name skipped); '' for other messages."""
        body = self.raw[5:]
        if self.kind == "Q":
            return body.rstrip(b"\0").decode(errors="replace")
        if self.kind == "P":
            _name, _, rest = body.partition(b"\0")
            return rest.partition(b"\0")[0].decode(errors="replace")
        return ""


Trigger = Callable[[Message], bool]  # called for every message from the client, in order; True: kill here


@dataclass
class KillingProxy:
    """Listens on 127.0.0.1; every connection to it goes to ``upstream``. Call :meth:`aim` with the client's pid."""

    upstream: tuple[str, int]
    trigger: Trigger
    when: When
    fired: threading.Event = field(default_factory=threading.Event)
    messages: list[Message] = field(default_factory=list)  # what the client sent, in order, up to the kill
    server_ports: list[int] = field(default_factory=list)  # our ports towards the server: pg_stat_activity.client_port

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # held to forward anything, and to kill: nothing passes once dead
        self._dead = False
        self._pid: int | None = None
        self._aimed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def aim(self, pid: int) -> None:
        """The process to kill (known once it is spawned, before it can connect)."""
        self._pid = pid
        self._aimed.set()

    def close(self) -> None:
        with self._lock:
            self._dead = True
            self._close_all()

    # -- inside ------------------------------------------------------------------------------------------

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                if self._dead:
                    client.close()
                    return
                server = socket.create_connection(self.upstream)
                for sock in (client, server):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets += [client, server]
                self.server_ports.append(server.getsockname()[1])
            threading.Thread(target=self._client_to_server, args=(number, client, server), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client), daemon=True).start()
            number += 1

    def _client_to_server(self, number: int, client: socket.socket, server: socket.socket) -> None:
        reader = _Reader(client)
        typed = False
        while True:
            message = reader.message(number, typed)
            if message is None:
                with self._lock, suppress(OSError):  # the client closed: pass it on
                    server.shutdown(socket.SHUT_WR)
                return
            if not typed:
                typed = struct.unpack("!i", message.raw[4:8])[0] not in _NEGOTIATIONS
            with self._lock:
                if self._dead:
                    return
                self.messages.append(message)
                hit = self.trigger(message)
                if hit and self.when is When.BEFORE:
                    self._kill()
                    return
                try:
                    server.sendall(message.raw)
                except OSError:
                    return
                if hit:  # AFTER: the server has it; its answer cannot pass while we hold the lock
                    self._kill()
                    return

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = server.recv(65536)
            except OSError:
                return
            with self._lock:
                if self._dead:
                    return
                if not data:
                    with suppress(OSError):
                        client.shutdown(socket.SHUT_WR)
                    return
                try:
                    client.sendall(data)
                except OSError:
                    return

    def _kill(self) -> None:
        """Under the lock: SIGKILL the client, then close every connection as its kernel would."""
        self._aimed.wait(timeout=30)
        assert self._pid is not None, "the proxy was never told which process to kill"
        os.kill(self._pid, signal.SIGKILL)
        self._dead = True
        self.fired.set()
        self._close_all()

    def _close_all(self) -> None:
        with suppress(OSError):
            self._listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()


class _Reader:
    """Whole messages from the client's byte stream."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def message(self, connection: int, typed: bool) -> Message | None:
        head = 5 if typed else 4
        if not self._fill(head):
            return None
        length = struct.unpack("!i", self.buffer[head - 4 : head])[0]
        total = length + (1 if typed else 0)
        if not self._fill(total):
            return None
        raw, self.buffer = self.buffer[:total], self.buffer[total:]
        return Message(connection, chr(raw[0]) if typed else "", raw)

    def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return False
            if not data:
                return False
            self.buffer += data
        return True
