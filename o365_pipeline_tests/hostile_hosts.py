"""A host that must never be contacted: tests point hostile URIs at it and check it saw
nothing."""

import socket
import threading
from contextlib import contextmanager


@contextmanager
def watched_port():
    """A listening port that records every connection made to it while the block runs (there
    must be none), however late in the block it comes.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    accepted = []
    done = threading.Event()

    def accept():
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection.getpeername())
            connection.close()  # the client fails at once instead of waiting for TLS

    watcher = threading.Thread(target=accept)
    watcher.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        done.set()
        watcher.join()
        listener.close()
