#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 as a static host with compression would: a request
whose Accept-Encoding allows gzip gets FILE.gz (written by `scripts/dev.sh web`/`test`)
with Content-Encoding: gzip when it exists, else FILE as it is.

    python3 scripts/serve.py PORT DIR
"""
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        gz = path + ".gz"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts and os.path.isfile(path) and os.path.isfile(gz):
            with open(gz, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return _Body(body)
        return super().send_head()

    def log_message(self, *args):
        pass


class _Body:
    """What send_head returns: a file-like object the handler copies to the socket."""

    def __init__(self, data):
        self.data = data

    def read(self, *args):
        data, self.data = self.data, b""
        return data

    def close(self):
        pass


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: serve.py PORT DIR")
    port, root = int(sys.argv[1]), sys.argv[2]
    handler = lambda *a, **k: Handler(*a, directory=root, **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(f"serving {root} on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
