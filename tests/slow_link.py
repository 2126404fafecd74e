"""A TCP proxy that behaves like a thin mobile link: one bandwidth each way shared by
every connection, half the round trip added each way, and a bounded window.

Each direction delivers what it read ``rtt / 2`` seconds later and no faster
than ``bits_per_second``; it holds at most ``window`` bytes in flight, so a
side that writes faster than the link carries is made to wait, as TCP would
make it (the server's writes block, its reads see the bytes trickle in). The
limit is the link's, not each connection's: PouchDB opens several connections
at once, and on a real 256 kbit/s link they share the 256 kbit/s. Bytes carried
are counted per direction, so a benchmark reports what went up and down.

Used by the tests to show that fieldsync's deadlines against slow clients
(server/slow_clients.py) never cut a real sync on such a link, and by
bench/field_link.py to time a field trip's push. Run it in front of a server to
try a phone or a browser on the emulated link:

    .venv/bin/python tests/slow_link.py --upstream 127.0.0.1:5985 --port 5986
"""

from __future__ import annotations

import argparse
import queue
import socket
import threading
import time

CHUNK = 1460  # about one TCP segment


class Direction:
    """One way of the link: its rate, delay and the time it is next free, shared by all connections."""

    def __init__(self, bytes_per_second: float, delay: float) -> None:
        self.rate = bytes_per_second
        self.delay = delay
        self.free_at = time.monotonic()
        self.carried = 0
        self.lock = threading.Lock()

    def slot(self, due: float, size: int) -> float:
        """When ``size`` bytes that arrived at the far end's due time ``due`` have left the link."""
        with self.lock:
            self.free_at = max(self.free_at, due) + size / self.rate
            self.carried += size
            return self.free_at


class SlowLink:
    def __init__(self, upstream: tuple[str, int], *, bits_per_second: int = 256_000, rtt: float = 0.6,
                 window: int = 64 * 1024, port: int = 0) -> None:
        self.upstream = upstream
        self.window = window
        self.up = Direction(bits_per_second / 8, rtt / 2)
        self.down = Direction(bits_per_second / 8, rtt / 2)
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    @property
    def carried(self) -> int:
        """Bytes carried both ways since the start or the last ``reset_counts``."""
        return self.up.carried + self.down.carried

    def reset_counts(self) -> None:
        for way in (self.up, self.down):
            with way.lock:
                way.carried = 0
        self.connections = 0

    def __enter__(self) -> SlowLink:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self.connections += 1
            for source, target, way in ((client, server, self.up), (server, client, self.down)):
                pending: queue.Queue = queue.Queue(maxsize=max(1, self.window // CHUNK))
                threading.Thread(target=self._read, args=(source, pending, way), daemon=True).start()
                threading.Thread(target=self._deliver, args=(target, pending, way), daemon=True).start()

    @staticmethod
    def _read(source: socket.socket, pending: queue.Queue, way: Direction) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            pending.put((time.monotonic() + way.delay, data))  # blocks while the window is full
            if not data:
                return

    @staticmethod
    def _deliver(target: socket.socket, pending: queue.Queue, way: Direction) -> None:
        while True:
            due, data = pending.get()
            if not data:
                try:
                    target.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            wait = way.slot(due, len(data)) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                target.sendall(data)
            except OSError:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default="127.0.0.1:5985", help="host:port of the server")
    parser.add_argument("--port", type=int, default=5986)
    parser.add_argument("--kbits", type=int, default=256, help="bandwidth each way, kbit/s")
    parser.add_argument("--rtt", type=float, default=0.6, help="round trip, seconds")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    with SlowLink((host, int(port)), bits_per_second=args.kbits * 1000, rtt=args.rtt, port=args.port) as proxy:
        print(f"{proxy.url()} -> {args.upstream} at {args.kbits} kbit/s each way, {args.rtt * 1000:.0f} ms RTT (Ctrl-C stops)")
        try:
            while True:
                time.sleep(5)
        except KeyboardInterrupt:
            print(f"carried {proxy.up.carried} B up, {proxy.down.carried} B down")


if __name__ == "__main__":
    main()
