#!/usr/bin/env python3
"""Start moto_server with lunora's extension on a loopback port.

Usage: python3 tests/emulator/launch.py [--port PORT] [--verbose] [--ignore-stdin]

Prints the endpoint URL (http://127.0.0.1:PORT) as the first line on stdout once
the server answers, then serves until stdin is closed (unless --ignore-stdin)
or the process receives SIGTERM/SIGINT. --port 0 (the default) picks a free port. Request logging goes
to stderr with --verbose (or LUNORA_EMULATOR_VERBOSE=1).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTALL_HINT = "pip install -r tests/emulator/requirements.txt"


def _fail(message: str, code: int = 3) -> None:
    print(f"lunora emulator: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def _import_extension() -> None:
    try:
        import moto  # noqa: F401
        import flask  # noqa: F401  (moto[server] extra)
    except ImportError as exc:
        _fail(f"{exc}. The emulator needs moto[server]; run: {INSTALL_HINT}")
    sys.path.insert(0, str(HERE))
    try:
        import lunora_moto  # noqa: F401  (installs the patches)
    except RuntimeError as exc:
        _fail(str(exc))
    # Pay the import cost of moto's CloudFormation engine (it imports ~30
    # services) before announcing the endpoint, so first requests are fast.
    import moto.cloudformation.responses  # noqa: F401
    import moto.mediaconnect.responses  # noqa: F401
    import moto.medialive.responses  # noqa: F401
    import moto.mediapackage.responses  # noqa: F401
    import moto.secretsmanager.responses  # noqa: F401


class Serialized:
    """One request at a time. moto's backends are not thread-safe: a stack
    operation runs inside its request, and four stacks deployed in parallel
    made one request iterate MediaLive's channel dict while another added to
    it ("OrderedDict mutated during iteration", a CREATE_FAILED that AWS
    would never produce). Connections are still accepted concurrently; the
    body is produced inside the lock, since a WSGI body may be lazy."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()


def _wait_until_answering(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            if time.monotonic() > deadline:
                _fail(f"server at {url} did not answer within {timeout:.0f}s", code=4)
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument(
        "--ignore-stdin", action="store_true", help="keep serving when stdin closes (stop with SIGTERM)"
    )
    args = parser.parse_args()
    verbose = args.verbose or os.environ.get("LUNORA_EMULATOR_VERBOSE") == "1"

    # The server must not pick up real AWS settings from the environment.
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(var, None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    _import_extension()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)
    if not verbose:
        import warnings

        warnings.simplefilter("ignore")

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from lunora_moto.cloudwatch_ext import CborAdapter
    from lunora_moto.mediapackage_ext import set_public_endpoint
    from lunora_moto.request_log import RequestLog

    # RequestLog sees every request as sent; CborAdapter turns CloudWatch's
    # Smithy RPC v2 CBOR requests (the Rust SDK) into awsJson1_0 for moto.
    app = Serialized(RequestLog(CborAdapter(DomainDispatcherApplication(create_backend_app))))
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}"
    # Step Functions' aws-sdk tasks call this server back at localhost:$MOTO_PORT
    # (moto.settings.moto_server_port, read at each call).
    os.environ["MOTO_PORT"] = str(port)
    set_public_endpoint(url)  # MediaPackage origin endpoint URLs point here
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    _wait_until_answering(url)

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    def _watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    if not args.ignore_stdin:
        threading.Thread(target=_watch_stdin, name="stdin", daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
