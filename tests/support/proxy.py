"""A TCP proxy on loopback that can cut, slow down and reset the link, for fault tests.

    with FaultyProxy("localhost", broker.port) as proxy:
        settings = replace(settings, port=proxy.port)   # the client now goes through the proxy
        proxy.blackhole()       # a network cut: nothing moves either way, new connections hang
        proxy.heal()            # the cut ends: what was held moves on, closes propagate
        proxy.delay(0.2)        # every chunk waits 200 ms each way (0 to stop)
        proxy.reset()           # every open connection is aborted with a TCP RST

A blackhole holds bytes instead of dropping them, which is what TCP does across a cut: the
sender's retransmissions get through once the path is back, unless an endpoint gave up on the
connection meanwhile (then the other side learns it when the cut ends). Held bytes are bounded
by the kernel's socket buffers: the proxy stops reading while it holds a chunk.

The proxy runs an asyncio loop in its own daemon thread; the methods are safe to call from
any thread. Standing in for Toxiproxy, which does not install here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from types import TracebackType

__all__ = ["FaultyProxy"]

_CHUNK = 64 * 1024


class FaultyProxy:
    """Forwards 127.0.0.1:`port` to `upstream_host`:`upstream_port` with injectable faults."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections accepted since start
        self.resets = 0  # connections aborted by reset()
        self._delay_s = 0.0
        self._loop = asyncio.new_event_loop()
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-proxy", daemon=True)

    # -- control, from any thread ---------------------------------------------------------

    def start(self) -> FaultyProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start within 10 s")
        return self

    def blackhole(self) -> None:
        """Stop moving bytes and closes in both directions until :meth:`heal`."""
        self._call(lambda: self._event().clear())

    def heal(self) -> None:
        self._call(lambda: self._event().set())

    def delay(self, seconds: float) -> None:
        """Hold every chunk `seconds` before forwarding it (both directions)."""
        self._delay_s = max(seconds, 0.0)

    def reset(self) -> int:
        """Abort every open connection with a RST; returns how many were open."""
        done = threading.Event()
        count: list[int] = []

        def abort_all() -> None:
            count.append(len(self._writers))
            for writer in list(self._writers):
                _abort(writer)
            self._writers.clear()
            self.resets += count[0]
            done.set()

        self._call(abort_all)
        done.wait(5)
        return count[0] if count else 0

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                _abort(writer)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # -- the loop's side ------------------------------------------------------------------

    def _call(self, action: object) -> None:
        self._loop.call_soon_threadsafe(action)  # type: ignore[arg-type]

    def _event(self) -> asyncio.Event:
        assert self._flowing is not None
        return self._flowing

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        await self._event().wait()  # a connection made during a cut waits, like a SYN being retried
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort(writer)
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                await self._event().wait()
                if self._delay_s:
                    await asyncio.sleep(self._delay_s)
                sink.write(chunk)
                await sink.drain()
            await self._event().wait()  # a close crosses the cut only when it heals
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            _abort(sink)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
