"""moto's server for the cross-checks: ECR Public (through moto's ECR) and DynamoDB.

moto has no ECR Public backend, but its ECR backend answers the same JSON
operations. Requests signed for the `ecr-public` service are routed to it.
Requests signed for `dynamodb` reach moto's DynamoDB backend unchanged.
Usage: python3 moto_ecr_public.py PORT  (binds 127.0.0.1 only)
"""
import sys
import threading

from moto.moto_server import werkzeug_app
from moto import server

werkzeug_app.SIGNING_ALIASES["ecr-public"] = "ecr"

# moto's server answers requests on several threads, but its ECR backend edits
# a repository's image list without a lock: two BatchDeleteImage calls at once
# can skip an image and report it ImageNotFound. ECR Public itself is
# consistent, so requests are served one at a time here.
_lock = threading.Lock()
_dispatch = werkzeug_app.DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    with _lock:
        return _dispatch(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    port = sys.argv[1] if len(sys.argv) > 1 else "0"
    server.main(["-H", "127.0.0.1", "-p", port])
