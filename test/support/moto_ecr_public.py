"""Local ECR Public backend for tests and the demo.

moto has no ECR Public backend, but its ECR backend answers the same JSON
operations. Requests signed for the `ecr-public` service are routed to it.
Usage: python3 moto_ecr_public.py PORT  (binds 127.0.0.1 only)
"""
import sys

from moto.moto_server import werkzeug_app
from moto import server

werkzeug_app.SIGNING_ALIASES["ecr-public"] = "ecr"

if __name__ == "__main__":
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    server.main(["-H", "127.0.0.1", "-p", port])
