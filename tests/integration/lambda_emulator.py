"""A Lambda Runtime API emulator for the tests (a small http.server on 127.0.0.1).

It plays the Lambda service's side of the custom-runtime protocol (version 2018-06-01):
hands out queued invocations on GET .../runtime/invocation/next and records what the
runtime POSTs to .../invocation/{id}/response, .../invocation/{id}/error and
.../runtime/init/error. `sqs_event()` builds the event Lambda's SQS event source would
deliver for messages received from a (moto) queue.
"""
import hashlib
import http.server
import json
import queue
import threading
import time
import uuid

import harness

PREFIX = "/2018-06-01/runtime"


class RuntimeApiEmulator:
    def __init__(self):
        self.port = harness.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._pending = queue.Queue()
        self._lock = threading.Condition()
        self.responses = {}    # request id -> parsed JSON body
        self.errors = {}       # request id -> (error-type header, parsed JSON body)
        self.init_errors = []  # (error-type header, parsed JSON body)
        self.handed_out = []   # request ids, in order
        self._stopping = threading.Event()
        emulator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404)
                while not emulator._stopping.is_set():
                    try:
                        request_id, deadline_ms, event = emulator._pending.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    with emulator._lock:
                        emulator.handed_out.append(request_id)
                        emulator._lock.notify_all()
                    return self._reply(200, event.encode(), {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn":
                            "arn:aws:lambda:us-east-1:123456789012:function:thumbflow",
                        "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
                    })
                self._reply(503)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                parts = self.path[len(PREFIX):].strip("/").split("/")
                with emulator._lock:
                    if parts == ["init", "error"]:
                        emulator.init_errors.append((error_type, body))
                    elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "response":
                        emulator.responses[parts[1]] = body
                    elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "error":
                        emulator.errors[parts[1]] = (error_type, body)
                    else:
                        return self._reply(404)
                    emulator._lock.notify_all()
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event, deadline_ms=None):
        """Queues an invocation; returns its request id. Default deadline: 60 s from now."""
        request_id = str(uuid.uuid4())
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 60_000
        self._pending.put((request_id, deadline_ms, json.dumps(event)))
        return request_id

    def wait_answer(self, request_id, peer=None, timeout=120):
        """Waits for the response or error of `request_id`; returns ("response", body) or
        ("error", (type, body)). Raises with the runtime's log if it exits or times out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if request_id in self.responses:
                    return "response", self.responses[request_id]
                if request_id in self.errors:
                    return "error", self.errors[request_id]
                if peer is not None and peer.proc.poll() is not None:
                    raise AssertionError(f"runtime exited with {peer.proc.returncode}:\n{peer.log()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    log = peer.log() if peer is not None else ""
                    raise AssertionError(f"no answer for {request_id} in {timeout}s:\n{log}")
                self._lock.wait(min(left, 0.2))


def sqs_event(messages, queue_arn, region="us-east-1"):
    """The event Lambda's SQS event source builds from boto3 receive_message() messages."""
    records = []
    for m in messages:
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def s3_event(bucket, key, size=0, etag=""):
    """One S3 ObjectCreated:Put notification, as S3 puts it on the queue."""
    from urllib.parse import quote_plus
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag,
                          "sequencer": "0055AED6DCD90281E5"}}}]})
