"""A TCP proxy in front of the test PostgreSQL (or a broker) that can lose connections on purpose.

It forwards bytes both ways, unchanged. Armed with `cut_after_commit()`, it passes the next
COMMIT a client sends on to the server, waits for the server's answer, and then closes both
sockets instead of forwarding that answer: the transaction is committed, and the client sees
its connection lost during COMMIT — exactly the ambiguous outcome a node failure produces
(CockroachDB's 40003). `cut_all()` drops every connection at once, like a load balancer cutover.
"""

from __future__ import annotations

import socket
import threading

from stack.ports import free_port

COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # a simple-protocol Query message: 'Q', int32 length, text


class FlakyProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1", port: int | None = None):
        """port: listen there (e.g. again, after close()) instead of on a free port."""
        self.target = (host, target_port)
        self.port = port or free_port()
        self._listener = socket.create_server((host, self.port))
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut_after_commit = 0
        self.commits_cut = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """The same database URL, through the proxy."""
        host_port = f"127.0.0.1:{self.target[1]}"
        assert host_port in database_url, database_url
        return database_url.replace(host_port, f"127.0.0.1:{self.port}")

    def cut_after_commit(self, times: int = 1) -> None:
        with self._lock:
            self._cut_after_commit = times

    def cut_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(*pair)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            link = _Link(client, socket.create_connection(self.target))
            with self._lock:
                self._pairs.append((link.client, link.server))
            threading.Thread(target=self._pump_up, args=(link,), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(link,), daemon=True).start()

    def _take_commit_cut(self) -> bool:
        with self._lock:
            if self._cut_after_commit > 0:
                self._cut_after_commit -= 1
                self.commits_cut += 1
                return True
            return False

    def _pump_up(self, link: _Link) -> None:
        """Client -> server. A COMMIT chosen to be cut goes through; its answer does not."""
        try:
            while data := link.client.recv(65536):
                cut = COMMIT in data and self._take_commit_cut()
                if cut:
                    link.swallow_answer.set()
                link.server.sendall(data)
                if cut:
                    link.answered.wait(10)   # the server has committed and answered
                    break
        except OSError:
            pass
        link.close()

    def _pump_down(self, link: _Link) -> None:
        """Server -> client, unless the answer to a cut COMMIT: that one is dropped."""
        try:
            while data := link.server.recv(65536):
                if link.swallow_answer.is_set():
                    link.answered.set()
                    break
                link.client.sendall(data)
        except OSError:
            pass
        link.close()


class _Link:
    """One client connection and the proxy's connection to the server on its behalf."""

    def __init__(self, client: socket.socket, server: socket.socket):
        self.client = client
        self.server = server
        self.swallow_answer = threading.Event()
        self.answered = threading.Event()

    def close(self) -> None:
        _close(self.client, self.server)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
