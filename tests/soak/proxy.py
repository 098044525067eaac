"""A small TCP proxy that loses answers the way 4G does: after the server has committed.

Each client connection is forwarded to the upstream server. For a chosen share of connections the
proxy forwards the whole request, reads the whole answer (so the server has done its work and
committed), and then closes the client's socket without passing a byte of it on. The device sees a
dropped connection and must resend; the server must absorb the resend as duplicates.
"""
import random
import socket
import threading


class FaultProxy:
    def __init__(self, upstream_port, drop_rate=0.0, seed=None, host="127.0.0.1"):
        self.upstream = (host, upstream_port)
        self.drop_rate = drop_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.dropped = 0
        self.forwarded = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(256)
        self.port = self._sock.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()
        try:
            self._sock.close()
        except OSError:
            pass

    def _should_drop(self):
        with self._lock:
            return self._rng.random() < self.drop_rate

    def _accept_loop(self):
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, self._should_drop()), daemon=True).start()

    def _handle(self, client, drop):
        """Relay one connection; the devices send `Connection: close`, so one connection is one exchange."""
        try:
            upstream = socket.create_connection(self.upstream, timeout=60)
        except OSError:
            client.close()  # upstream down: the device sees a refused/closed connection and retries
            return
        try:
            upstream.settimeout(60)
            client.settimeout(60)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            answer = []
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                if drop:
                    answer.append(chunk)  # swallowed: read so the server finishes, never delivered
                else:
                    client.sendall(chunk)
            with self._lock:
                if drop and answer:
                    self.dropped += 1
                elif not drop:
                    self.forwarded += 1
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:  # shutdown first: it wakes the pump thread blocked in recv and sends the FIN
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                dst.sendall(chunk)
        except OSError:
            return
