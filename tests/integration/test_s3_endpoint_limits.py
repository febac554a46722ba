"""The embedded S3 endpoint's addressing, access and transport limits, against real servers
(`thumbflow serve --workers 0`) configured with small limits so every case runs in seconds:

- virtual-host-style addressing (bucket.localhost:PORT) without DNS: boto3 with a resolver
  hook that sends *.localhost to 127.0.0.1, and raw SigV4-signed requests whose Host header
  names the bucket;
- header timeout (also against a trickling header), idle timeout in the middle of a body
  (while a slow body that keeps arriving completes), max_connections (an idle keep-alive
  connection gives way to a new one; also as capped by a low descriptor limit), header size
  and single-PUT size limits; a stalled client never stops another from being served;
- public-read prefixes: off by default; when configured, anonymous GET/HEAD under the prefix
  only.

Nothing here asserts how long anything took: a disconnect is awaited with a generous bound.
"""
import contextlib
import http.client
import os
import re
import select
import socket
import tempfile
import time
import unittest

import harness
from test_s3_endpoint import ACCESS_KEY, SECRET_KEY, ServeFixture

# Long enough for a loaded CI machine; the configured timeouts are 1-2 s.
DISCONNECT_WAIT_S = 20


def stop_checked(peer):
    """Stops the server (a harness.Peer); fails with its log unless it exited 0."""
    code = peer.stop()
    if code != 0:
        with open(peer.log_path, errors="replace") as f:
            raise AssertionError(f"serve exited with {code}:\n{f.read()[-4000:]}")


def serve_with_config(name, text):
    """A ServeFixture whose `thumbflow serve` reads `text` as its config file."""
    folder = tempfile.mkdtemp(prefix=f"tf-{name}-config-")
    path = os.path.join(folder, "thumbflow.toml")
    with open(path, "w") as f:
        f.write(text)
    return ServeFixture(extra_args=["--config", path], name=name)


@contextlib.contextmanager
def localhost_subdomains_resolve():
    """Makes localhost and every *.localhost resolve to 127.0.0.1 inside this process, so a
    client using virtual-host addressing reaches the test server without DNS."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        yield
    finally:
        socket.getaddrinfo = real


def signed_headers(method, host, path, body=b"", headers=None, secret=SECRET_KEY):
    """Headers of a SigV4-signed request for http://{host}{path} (path already encoded),
    including Host exactly as signed."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                         headers=dict(headers or {}))
    S3SigV4Auth(Credentials(ACCESS_KEY, secret), "s3", "us-east-1").add_auth(request)
    out = dict(request.headers.items())
    out["Host"] = host
    return out


def send(port, method, path, headers=None, body=b""):
    """One request to 127.0.0.1:port with the given headers (Host included when given);
    returns (status, headers dict with lower-case names, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def send_signed(port, method, host, path, body=b"", headers=None):
    return send(port, method, path, signed_headers(method, host, path, body, headers), body)


def error_code(body):
    match = re.search(rb"<Code>([^<]*)</Code>", body)
    return match.group(1).decode() if match else None


def request_head(method, path, headers):
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_raw(port, data):
    """A connection that has sent `data` and then stalls."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=DISCONNECT_WAIT_S)
    sock.sendall(data)
    return sock


def open_stalled_put(port, host, path, size, sent):
    """A signed PUT of `size` bytes whose client sends the header and `sent` bytes of the
    body, then stalls."""
    body = os.urandom(size)
    headers = signed_headers("PUT", host, path, body)
    headers["Content-Length"] = str(size)
    return open_raw(port, request_head("PUT", path, headers) + body[:sent])


def send_once(port, method, host, path, body):
    """A signed request written in one send on a fresh connection, then everything until the
    server closes. A server that refuses the connection may close before reading it, so a
    failed send still reads the reply. Returns (status or None, reply bytes)."""
    headers = signed_headers(method, host, path, body)
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    sock = socket.create_connection(("127.0.0.1", port), timeout=DISCONNECT_WAIT_S)
    try:
        try:
            sock.sendall(request_head(method, path, headers) + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = read_until_closed(sock)
    finally:
        sock.close()
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
    return (int(match.group(1)) if match else None), reply


def read_until_closed(sock):
    """Everything the server sends until it closes the connection. Fails the test (socket
    timeout) if the server keeps the connection open for DISCONNECT_WAIT_S."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def metric(endpoint, name):
    status, _, body = send(int(endpoint.rsplit(":", 1)[1]), "GET", "/metrics")
    assert status == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class VirtualHostTest(unittest.TestCase):
    """Default config: virtual_host_domains = ["localhost"], no public-read prefix."""

    @classmethod
    def setUpClass(cls):
        cls.s = ServeFixture(name="serve-vhost")

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.s.peer)

    def virtual_client(self):
        return harness.boto3_client("s3", f"http://localhost:{self.s.port}", ACCESS_KEY,
                                    SECRET_KEY, signature_version="s3v4",
                                    s3={"addressing_style": "virtual"},
                                    retries={"max_attempts": 1})

    def test_boto3_virtual_host_put_get_list_head_delete(self):
        import botocore.exceptions
        key = "vhost/a b+ü%.txt"
        sent = []

        def record_host(request, **_):
            sent.append(request.url)

        with localhost_subdomains_resolve():
            c = self.virtual_client()
            c.meta.events.register("before-send.s3", record_host)
            c.put_object(Bucket="images", Key=key, Body=b"virtual", ContentType="text/plain")
            got = c.get_object(Bucket="images", Key=key)
            self.assertEqual(got["Body"].read(), b"virtual")
            self.assertEqual(got["ContentType"], "text/plain")
            listed = c.list_objects_v2(Bucket="images", Prefix="vhost/")
            self.assertEqual([o["Key"] for o in listed["Contents"]], [key])
            self.assertEqual(c.head_object(Bucket="images", Key=key)["ContentLength"], 7)
        # The client really addressed the bucket by host name, and the object is the same one
        # path-style clients see.
        self.assertTrue(sent and all(u.startswith(f"http://images.localhost:{self.s.port}/")
                                     for u in sent), sent)
        path_client = self.s.client(s3={"addressing_style": "path"})
        self.assertEqual(path_client.get_object(Bucket="images", Key=key)["Body"].read(),
                         b"virtual")
        with localhost_subdomains_resolve():
            c.delete_object(Bucket="images", Key=key)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            path_client.head_object(Bucket="images", Key=key)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_boto3_virtual_host_unknown_bucket(self):
        import botocore.exceptions
        with localhost_subdomains_resolve():
            c = self.virtual_client()
            for call in (lambda: c.put_object(Bucket="no-such-bucket", Key="k", Body=b"x"),
                         lambda: c.get_object(Bucket="no-such-bucket", Key="k"),
                         lambda: c.list_objects_v2(Bucket="no-such-bucket")):
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    call()
                self.assertEqual(ctx.exception.response["Error"]["Code"], "NoSuchBucket")

    def test_signed_raw_requests_name_the_bucket_in_host(self):
        port = self.s.port
        host = f"images.localhost:{port}"
        status, headers, body = send_signed(port, "PUT", host, "/raw/x.bin", b"raw bytes")
        self.assertEqual(status, 200, body)
        self.assertIn("etag", headers)
        # The whole path is the key: "/images/raw/x.bin" on the bucket's host is another key.
        status, _, body = send_signed(port, "GET", host, "/raw/x.bin")
        self.assertEqual((status, body), (200, b"raw bytes"))
        status, _, body = send_signed(port, "GET", host, "/images/raw/x.bin")
        self.assertEqual((status, error_code(body)), (404, "NoSuchKey"))
        # Listing: GET / on the bucket's host.
        status, _, body = send_signed(port, "GET", host, "/?list-type=2&prefix=raw%2F")
        self.assertEqual(status, 200, body)
        self.assertIn(b"<Name>images</Name>", body)
        self.assertIn(b"<Key>raw/x.bin</Key>", body)
        # Without a port, and path-style on the plain domain, address the same bucket.
        status, _, body = send_signed(port, "GET", "images.localhost", "/raw/x.bin")
        self.assertEqual((status, body), (200, b"raw bytes"))
        status, _, body = send_signed(port, "GET", f"localhost:{port}", "/images/raw/x.bin")
        self.assertEqual((status, body), (200, b"raw bytes"))
        # A host outside virtual_host_domains is path-style.
        status, _, body = send_signed(port, "GET", f"images.example.test:{port}",
                                      "/images/raw/x.bin")
        self.assertEqual((status, body), (200, b"raw bytes"))

    def test_wrong_bucket_in_host(self):
        port = self.s.port
        for method, path, body in (("PUT", "/k.txt", b"x"), ("GET", "/k.txt", b""),
                                   ("GET", "/?list-type=2", b"")):
            status, _, reply = send_signed(port, method, f"missing-bucket.localhost:{port}", path,
                                           body)
            self.assertEqual((status, error_code(reply)), (404, "NoSuchBucket"), (method, path))
        # A bucket name S3 would never accept in a host name is still only a missing bucket.
        status, _, reply = send_signed(port, "GET", f"..localhost:{port}", "/k.txt")
        self.assertEqual(status // 100, 4, reply)
        self.assertNotEqual(status, 200)

    def test_host_must_be_signed_as_sent(self):
        port = self.s.port
        headers = signed_headers("GET", f"images.localhost:{port}", "/raw/x.bin")
        headers["Host"] = f"other.localhost:{port}"
        status, _, body = send(port, "GET", "/raw/x.bin", headers)
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))

    def test_public_read_is_off_by_default(self):
        self.s.client().put_object(Bucket="images", Key="public/p.txt", Body=b"secret")
        for method in ("GET", "HEAD"):
            status, _, body = send(self.s.port, method, "/images/public/p.txt")
            self.assertEqual(status, 403, (method, body))
            if method == "GET":
                self.assertEqual(error_code(body), "AccessDenied")
        status, _, body = send(self.s.port, "GET", "/public/p.txt",
                               {"Host": f"images.localhost:{self.s.port}"})
        self.assertEqual((status, error_code(body)), (403, "AccessDenied"))


LIMITS_CONFIG = """
[server]
max_put_bytes = 65536
max_header_bytes = 2048
header_timeout_s = 1
idle_timeout_s = 2
threads = 2
public_read_prefixes = ["images/public/"]
"""


class LimitsTest(unittest.TestCase):
    """Small limits and a public-read prefix."""

    @classmethod
    def setUpClass(cls):
        cls.s = serve_with_config("serve-limits", LIMITS_CONFIG)
        cls.host = f"127.0.0.1:{cls.s.port}"

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.s.peer)

    def assert_absent(self, key):
        status, _, _ = send_signed(self.s.port, "HEAD", self.host, "/images/" + key)
        self.assertEqual(status, 404, key)

    def test_half_a_header_is_disconnected(self):
        before = metric(self.s.endpoint, "thumbflow_http_timeouts_total")
        stalled = open_raw(self.s.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        try:
            # Served while the other client stalls.
            self.assertEqual(send(self.s.port, "GET", "/healthz")[0], 200)
            reply = read_until_closed(stalled)
        finally:
            stalled.close()
        self.assertFalse(reply.startswith(b"HTTP/1.1 2"), reply)
        # The server counts the timeout just after closing: allow it a moment.
        for _ in range(100):
            if metric(self.s.endpoint, "thumbflow_http_timeouts_total") > before:
                break
            time.sleep(0.05)
        self.assertGreater(metric(self.s.endpoint, "thumbflow_http_timeouts_total"), before)

    def test_header_trickle_is_disconnected(self):
        # A slow-loris client that keeps sending header bytes: the header timeout bounds the
        # whole header, not the gap between bytes.
        sock = open_raw(self.s.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        closed = False
        try:
            for _ in range(int(DISCONNECT_WAIT_S / 0.2)):
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable:
                    closed = read_until_closed(sock) == b""
                    break
                try:
                    sock.sendall(b"a")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
        finally:
            sock.close()
        self.assertTrue(closed, "the server kept a trickling header open")

    def test_slow_body_that_keeps_progressing_is_not_cut_off(self):
        # The idle timeout is about a stall, not about speed: a body that takes longer than
        # idle_timeout_s in total but never pauses that long completes.
        body = os.urandom(1200)
        headers = signed_headers("PUT", self.host, "/images/slow/body.bin", body)
        headers["Content-Length"] = str(len(body))
        sock = open_raw(self.s.port, request_head("PUT", "/images/slow/body.bin", headers))
        try:
            for i in range(0, len(body), 100):  # 12 pieces, 0.3 s apart: about 3.6 s in all
                time.sleep(0.3)
                sock.sendall(body[i:i + 100])
            reply = sock.recv(65536)
        finally:
            sock.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply)
        status, _, got = send_signed(self.s.port, "GET", self.host, "/images/slow/body.bin")
        self.assertEqual((status, got), (200, body))

    def test_silent_connection_is_disconnected(self):
        stalled = socket.create_connection(("127.0.0.1", self.s.port),
                                           timeout=DISCONNECT_WAIT_S)
        try:
            self.assertEqual(read_until_closed(stalled), b"")
        finally:
            stalled.close()

    def test_body_stall_is_disconnected_and_stores_nothing(self):
        stalled = open_stalled_put(self.s.port, self.host, "/images/stall/body.bin", 1000, 100)
        try:
            # Another client is served while the body stalls.
            status, _, reply = send_signed(self.s.port, "PUT", self.host,
                                           "/images/stall/other.bin", b"other")
            self.assertEqual(status, 200, reply)
            reply = read_until_closed(stalled)
        finally:
            stalled.close()
        # The client may see S3's RequestTimeout before the close; never a success.
        self.assertFalse(reply.startswith(b"HTTP/1.1 2"), reply)
        if reply:
            self.assertIn(b"RequestTimeout", reply)
        self.assert_absent("stall/body.bin")

    def test_header_section_too_large(self):
        status, _, body = send(self.s.port, "GET", "/images/x",
                               {"Host": self.host, "x-amz-meta-big": "a" * 3000})
        self.assertEqual((status, error_code(body)), (400, "RequestHeaderSectionTooLarge"))
        # A long request line counts too.
        status, _, body = send(self.s.port, "GET", "/images/" + "k" * 3000, {"Host": self.host})
        self.assertEqual((status, error_code(body)), (400, "RequestHeaderSectionTooLarge"))
        # Just under the limit is fine, and the server is still serving.
        status, _, body = send_signed(self.s.port, "PUT", self.host, "/images/hdr/ok.txt", b"ok",
                                      {"x-amz-meta-note": "n" * 600})
        self.assertEqual(status, 200, body)

    def test_put_size_limit(self):
        import botocore.exceptions
        c = self.s.client(retries={"max_attempts": 1})
        c.put_object(Bucket="images", Key="size/exact.bin", Body=b"e" * 65536)
        self.assertEqual(c.head_object(Bucket="images", Key="size/exact.bin")["ContentLength"],
                         65536)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.put_object(Bucket="images", Key="size/over.bin", Body=b"o" * 65537)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "EntityTooLarge")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assert_absent("size/over.bin")

    def test_put_size_limit_without_declared_length(self):
        # Chunked transfer encoding: no length is declared, so the limit trips while reading.
        body = os.urandom(100_000)
        headers = signed_headers("PUT", self.host, "/images/size/chunked.bin", body)
        headers["Transfer-Encoding"] = "chunked"
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=30)
        try:
            conn.putrequest("PUT", "/images/size/chunked.bin", skip_host=True,
                            skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            try:
                for i in range(0, len(body), 8192):
                    piece = body[i:i + 8192]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may stop reading once the limit is passed
            response = conn.getresponse()
            status, reply = response.status, response.read()
        finally:
            conn.close()
        self.assertEqual((status, error_code(reply)), (400, "EntityTooLarge"))
        self.assert_absent("size/chunked.bin")

    def test_part_size_limit(self):
        import botocore.exceptions
        c = self.s.client(retries={"max_attempts": 1})
        upload = c.create_multipart_upload(Bucket="images", Key="size/multi.bin")["UploadId"]
        try:
            with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                c.upload_part(Bucket="images", Key="size/multi.bin", UploadId=upload,
                              PartNumber=1, Body=b"p" * 65537)
            self.assertEqual(ctx.exception.response["Error"]["Code"], "EntityTooLarge")
            self.assertEqual(c.list_parts(Bucket="images", Key="size/multi.bin",
                                          UploadId=upload).get("Parts", []), [])
        finally:
            c.abort_multipart_upload(Bucket="images", Key="size/multi.bin", UploadId=upload)

    def test_public_read_prefix(self):
        import requests
        c = self.s.client()
        c.put_object(Bucket="images", Key="public/p.txt", Body=b"public bytes")
        c.put_object(Bucket="images", Key="private/q.txt", Body=b"private bytes")
        url = self.s.endpoint + "/images/"
        r = requests.get(url + "public/p.txt", timeout=10)
        self.assertEqual((r.status_code, r.content), (200, b"public bytes"))
        r = requests.head(url + "public/p.txt", timeout=10)
        self.assertEqual((r.status_code, r.headers.get("Content-Length")), (200, "12"))
        r = requests.get(url + "public/p.txt", headers={"Range": "bytes=0-5"}, timeout=10)
        self.assertEqual((r.status_code, r.content), (206, b"public"))
        status, _, body = send(self.s.port, "GET", "/public/p.txt",
                               {"Host": f"images.localhost:{self.s.port}"})
        self.assertEqual((status, body), (200, b"public bytes"))
        # Refused: reads elsewhere, any write, listing, deleting, multipart.
        refused = [("GET", "/images/private/q.txt", b""), ("HEAD", "/images/private/q.txt", b""),
                   ("GET", "/images/publicity.txt", b""),
                   ("PUT", "/images/public/new.txt", b"anonymous"),
                   ("DELETE", "/images/public/p.txt", b""),
                   ("POST", "/images/public/m.bin?uploads", b""),
                   ("GET", "/images?list-type=2&prefix=public%2F", b""),
                   ("GET", "/images/?list-type=2&prefix=public%2F", b""), ("GET", "/", b"")]
        status, _, reply = send(self.s.port, "GET",
                                "/images/public/p.txt?response-content-type=text%2Fhtml",
                                {"Host": self.host})
        self.assertEqual((status, error_code(reply)), (400, "InvalidRequest"))
        for method, path, body in refused:
            status, _, reply = send(self.s.port, method, path, {"Host": self.host}, body)
            self.assertEqual(status, 403, (method, path, reply))
            if method != "HEAD":
                self.assertEqual(error_code(reply), "AccessDenied", (method, path))
        self.assert_absent("public/new.txt")
        self.assertEqual(c.get_object(Bucket="images", Key="public/p.txt")["Body"].read(),
                         b"public bytes")
        # Dot segments are not resolved: they name another (missing) key, never the private one.
        for path in ("/images/public/../private/q.txt", "/images/public/%2E%2E/private/q.txt",
                     "/images/public/..%2Fprivate%2Fq.txt"):
            status, _, reply = send(self.s.port, "GET", path, {"Host": self.host})
            self.assertEqual((status, error_code(reply)), (404, "NoSuchKey"), path)


CONNECTIONS_CONFIG = """
[server]
max_connections = 4
header_timeout_s = 30
idle_timeout_s = 30
threads = 2
"""


class ConnectionLimitTest(unittest.TestCase):
    """Long timeouts so stalled clients hold their connections for the whole test."""

    def test_stalled_clients_do_not_starve_others_and_excess_connections_are_refused(self):
        s = serve_with_config("serve-conns", CONNECTIONS_CONFIG)
        held = []
        try:
            host = f"127.0.0.1:{s.port}"
            # Two clients stall in their header, one in its body: three of the four slots.
            for _ in range(2):
                held.append(open_raw(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"))
            held.append(open_stalled_put(s.port, host, "/images/conn/stalled.bin", 1000, 10))
            # The fourth slot: a client is served normally despite the stalls (its 10 s read
            # timeout is far below the server's 30 s ones).
            c = s.client(retries={"max_attempts": 1}, read_timeout=10, max_pool_connections=1)
            c.put_object(Bucket="images", Key="conn/ok.bin", Body=b"served")
            self.assertEqual(c.get_object(Bucket="images", Key="conn/ok.bin")["Body"].read(),
                             b"served")
            # The server is full, but the client's keep-alive connection is idle: it is closed
            # to make room, and a fifth connection is served.
            status, reply = send_once(s.port, "PUT", host, "/images/conn/fifth.bin", b"5")
            self.assertEqual(status, 200, reply)
            self.assertEqual(metric(s.endpoint, "thumbflow_http_idle_connections_closed_total"),
                             1)
            # The client reconnects (its pool notices the closed connection) and is served.
            self.assertEqual(c.get_object(Bucket="images", Key="conn/fifth.bin")["Body"].read(),
                             b"5")
            # A fourth stalled client takes the client's idle slot; now nothing is idle, and a
            # new connection is answered 503 SlowDown (which SDKs retry) and closed.
            held.append(open_raw(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"))
            status, reply = send_once(s.port, "PUT", host, "/images/conn/excess.bin", b"x")
            self.assertEqual((status, error_code(reply)), (503, "SlowDown"), reply)
            self.assertIn(b"\r\nConnection: close\r\n", reply)
            # Once a slot frees, new connections are served again.
            held.pop(0).close()
            served = False
            for _ in range(100):
                try:
                    if send(s.port, "GET", "/healthz")[0] == 200:
                        served = True
                        break
                except (ConnectionError, http.client.HTTPException):
                    pass
                time.sleep(0.05)
            self.assertTrue(served, s.peer.log()[-2000:])
            while held:
                held.pop().close()
            # The stalled upload stored nothing.
            self.assertEqual(c.head_object(Bucket="images", Key="conn/ok.bin")["ContentLength"], 6)
            import botocore.exceptions
            with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                c.head_object(Bucket="images", Key="conn/stalled.bin")
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
            self.assertGreaterEqual(metric(s.endpoint, "thumbflow_http_connections_rejected_total"),
                                    1)
        finally:
            for sock in held:
                sock.close()
            stop_checked(s.peer)


class DescriptorLimitTest(unittest.TestCase):
    """`serve` under a soft RLIMIT_NOFILE of 128 with the default max_connections (1024):
    the connection limit must follow the descriptors, so that a flood of stalled connections
    gets 503s instead of leaving new clients unanswered in the accept backlog. (The flood
    sends half a header: idle connections would be closed to make room instead.)"""

    def test_connection_flood_beyond_descriptors_is_refused_not_hung(self):
        port = harness.free_port()
        tmp = tempfile.mkdtemp(prefix="tf-nofile-")
        env = {"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY, "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY}
        peer = harness.Peer(["sh", "-c", 'ulimit -n 128 && exec "$0" "$@"', harness.BIN, "serve",
                             "--data", os.path.join(tmp, "data"), "--listen",
                             f"127.0.0.1:{port}", "--workers", "0"],
                            env=env, log_dir=tmp, name="serve-nofile")
        host = f"127.0.0.1:{port}"
        held = []
        try:
            peer.wait_http(f"http://{host}/healthz", timeout=30)
            for _ in range(150):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
                try:
                    held[-1].sendall(b"GET /healthz HTTP/1.1\r\n")
                except OSError:
                    pass  # refused already: answered 503 and closed
            # Answered at once, with a status an SDK retries, rather than timing out.
            status, reply = send_once(port, "PUT", host, "/images/fd/flood.bin", b"x")
            self.assertEqual((status, error_code(reply)), (503, "SlowDown"), reply)
            while held:
                held.pop().close()
            served = None
            for _ in range(100):
                try:
                    served = send_signed(port, "PUT", host, "/images/fd/after.bin", b"after")
                    if served[0] == 200:
                        break
                except (ConnectionError, http.client.HTTPException):
                    pass
                time.sleep(0.05)
            self.assertEqual(served and served[0], 200, served)
            status, _, body = send_signed(port, "GET", host, "/images/fd/after.bin")
            self.assertEqual((status, body), (200, b"after"))
        finally:
            for sock in held:
                sock.close()
            stop_checked(peer)


if __name__ == "__main__":
    unittest.main()
