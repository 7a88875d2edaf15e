"""Running the srn-serve application on uvicorn, stopped cleanly by Ctrl-C.

The listening socket is bound before the model loads (`bind`), so a port in use
is reported at once. On the first Ctrl-C (or SIGTERM) the service takes no more
images and cancels those waiting; the image the model is on finishes and the
request waiting for it gets its answer, downloads under way complete, then the
private folder is removed. A second Ctrl-C quits at once.
"""

import ipaddress
import socket

import uvicorn


def is_loopback(host):
    """True when `host` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host, port):
    """A listening TCP socket on `host`:`port` (0: a free port).

    Raises:
        OSError: the address cannot be bound; the message names it and why.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise OSError(f"--host={host}: cannot resolve ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise OSError(f"{host}:{port}: cannot listen ({error.strerror or error})") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock):
    """The page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


class Server(uvicorn.Server):
    """uvicorn's server that stops the service's queue as soon as a signal comes."""

    def __init__(self, config, service):
        super().__init__(config)
        self.service = service

    def handle_exit(self, sig, frame):
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first:
            # From a signal handler: the service's lock may be held by this very
            # thread, so the stop runs in a thread of its own.
            import threading

            threading.Thread(target=self.service.stop, daemon=True).start()


def make_server(app, service):
    """A `Server` for `app`, quiet (no access log; the service prints one line per image)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            server_header=False)
    return Server(config, service)


def serve(app, service, sock):
    """Serves `app` on `sock` until Ctrl-C or SIGTERM; returns after the clean stop."""
    make_server(app, service).run(sockets=[sock])
