"""Authentication of the embedded S3 endpoint (`thumbflow serve`) attacked as a man in the
middle would: real botocore-signed requests are altered on the way (headers added, the
payload hash or the body changed) and sent with http.client; the error code, the status and
the fact that nothing was stored are checked. Also: credential scopes for another region or
service, presigned URLs out of range, SigV2 (aws CLI v1 `aws s3 presign`, boto3
generate_presigned_url) and SSE request headers.

What S3 answers was taken from AWS's documentation and S3's published error texts;
moto_server does not verify signatures (it accepts every request), so it cannot serve as the
reference here.
"""
import hashlib
import http.client
import os
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import harness
import test_s3_endpoint as endpoint

BUCKET = "images"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def error_of(body):
    """The S3 error document as a dict of its child elements."""
    root = ET.fromstring(body)
    return {child.tag: child.text or "" for child in root}


class Signed:
    """A botocore-signed request that a test may alter before sending it."""

    def __init__(self, fixture, method, path, body=b"", headers=None, region="us-east-1",
                 service="s3", payload=None):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        class Auth(S3SigV4Auth):
            def payload(self, request):  # a chosen x-amz-content-sha256 value, signed
                return payload if payload is not None else super().payload(request)

            def _modify_request_before_signing(self, request):
                super()._modify_request_before_signing(request)
                if payload is not None:
                    del request.headers["X-Amz-Content-SHA256"]
                    request.headers["X-Amz-Content-SHA256"] = payload

        self.fixture = fixture
        self.method = method
        self.path = path
        self.body = body
        request = AWSRequest(method=method, url=fixture.endpoint + path, data=body,
                             headers=dict(headers or {}))
        Auth(Credentials(endpoint.ACCESS_KEY, endpoint.SECRET_KEY), service, region).add_auth(
            request)
        self.headers = [(k, v) for k, v in request.headers.items()]

    def send(self, extra_headers=(), body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.fixture.port, timeout=30)
        try:
            conn.putrequest(self.method, self.path, skip_host=True, skip_accept_encoding=True)
            data = self.body if body is None else body
            conn.putheader("Host", f"127.0.0.1:{self.fixture.port}")  # as botocore signed it
            for name, value in list(self.headers) + list(extra_headers):
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(data)))
            conn.endheaders()
            if data:
                conn.send(data)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


class S3AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.s = endpoint.ServeFixture(name="serve-auth")
        cls.s3 = cls.s.client()
        cls.s3.put_object(Bucket=BUCKET, Key="secret/source", Body=b"the secret bytes")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def assertAbsent(self, key):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket=BUCKET, Key=key)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def assertError(self, status, body, want_status, want_code):
        self.assertEqual(status, want_status, body)
        error = error_of(body)
        self.assertEqual(error["Code"], want_code, body)
        return error

    # ---- 1. every x-amz-* header must be signed -------------------------------------------

    def test_copy_source_added_to_a_signed_empty_put_is_refused(self):
        req = Signed(self.s, "PUT", f"/{BUCKET}/mitm/copy-target")
        self.assertEqual(req.send()[0], 200)  # as signed, it is an empty PUT
        self.s3.delete_object(Bucket=BUCKET, Key="mitm/copy-target")
        status, body = req.send([("x-amz-copy-source", f"/{BUCKET}/secret/source")])
        error = self.assertError(status, body, 403, "AccessDenied")
        self.assertEqual(error["Message"],
                         "There were headers present in the request which were not signed")
        self.assertEqual(error["HeadersNotSigned"], "x-amz-copy-source")
        self.assertAbsent("mitm/copy-target")

    def test_metadata_added_to_a_signed_put_is_refused(self):
        req = Signed(self.s, "PUT", f"/{BUCKET}/mitm/meta", body=b"data")
        status, body = req.send([("X-Amz-Meta-Owner", "mallory"),
                                 ("x-amz-server-side-encryption", "AES256")])
        error = self.assertError(status, body, 403, "AccessDenied")
        self.assertEqual(error["HeadersNotSigned"],
                         "x-amz-meta-owner, x-amz-server-side-encryption")
        self.assertAbsent("mitm/meta")

    def test_presigned_url_with_an_added_header_is_refused(self):
        url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "mitm/presigned"}, ExpiresIn=300)
        self.assertIn("X-Amz-Signature=", url)
        request = urllib.request.Request(url, data=b"x", method="PUT",
                                         headers={"x-amz-meta-added": "1"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(request, timeout=30)
        body = cm.exception.read()
        error = self.assertError(cm.exception.code, body, 403, "AccessDenied")
        self.assertEqual(error["HeadersNotSigned"], "x-amz-meta-added")
        self.assertAbsent("mitm/presigned")
        # Unaltered, the URL works.
        with urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="PUT"),
                                    timeout=30) as r:
            self.assertEqual(r.status, 200)

    # ---- 2. x-amz-content-sha256 ------------------------------------------------------------

    def test_payload_hash_that_is_not_a_digest_is_refused(self):
        req = Signed(self.s, "PUT", f"/{BUCKET}/mitm/nothex", body=b"data", payload="nothex")
        status, body = req.send()
        error = self.assertError(status, body, 400, "InvalidArgument")
        self.assertEqual(error["ArgumentName"], "x-amz-content-sha256")
        self.assertEqual(error["ArgumentValue"], "nothex")
        self.assertIn("must be UNSIGNED-PAYLOAD", error["Message"])
        self.assertAbsent("mitm/nothex")

    def test_body_that_does_not_match_the_signed_digest_is_refused(self):
        req = Signed(self.s, "PUT", f"/{BUCKET}/mitm/body", body=b"original")
        status, body = req.send(body=b"tampered")
        self.assertError(status, body, 400, "XAmzContentSHA256Mismatch")
        self.assertAbsent("mitm/body")
        # Changing the header instead breaks the signature.
        headers = [(k, v) for k, v in req.headers if k.lower() != "x-amz-content-sha256"]
        req.headers = headers + [("x-amz-content-sha256", sha256(b"tampered"))]
        status, body = req.send(body=b"tampered")
        self.assertError(status, body, 403, "SignatureDoesNotMatch")
        self.assertAbsent("mitm/body")

    # ---- 3. the credential scope --------------------------------------------------------------

    def test_scope_for_another_region_or_service_is_refused(self):
        status, body = Signed(self.s, "GET", f"/{BUCKET}?list-type=2", region="eu-west-1").send()
        error = self.assertError(status, body, 400, "AuthorizationHeaderMalformed")
        self.assertEqual(error["Message"],
                         "The authorization header is malformed; the region 'eu-west-1' is "
                         "wrong; expecting 'us-east-1'")
        self.assertEqual(error["Region"], "us-east-1")
        status, body = Signed(self.s, "GET", f"/{BUCKET}?list-type=2", service="sqs").send()
        error = self.assertError(status, body, 400, "AuthorizationHeaderMalformed")
        self.assertIn('incorrect service "sqs"', error["Message"])

    def test_boto3_client_for_another_region_is_told_the_right_one(self):
        client = harness.boto3_client("s3", self.s.endpoint, endpoint.ACCESS_KEY,
                                      endpoint.SECRET_KEY, region="eu-west-1",
                                      signature_version="s3v4", retries={"max_attempts": 1})
        sent = []

        def record(request, **kwargs):
            value = request.headers["Authorization"]
            sent.append(value.decode() if isinstance(value, bytes) else value)

        client.meta.events.register("before-send.s3", record)
        # As with S3, botocore reads <Region> from the AuthorizationHeaderMalformed error and
        # signs again for that region: the first attempt is refused, the second succeeds.
        client.put_object(Bucket=BUCKET, Key="mitm/region", Body=b"x")
        self.assertEqual(len(sent), 2, sent)
        self.assertIn("/eu-west-1/s3/", sent[0])
        self.assertIn("/us-east-1/s3/", sent[1])
        self.s3.delete_object(Bucket=BUCKET, Key="mitm/region")
        # A presigned URL has nobody to retry it: the error names the region.
        url = client.generate_presigned_url("get_object",
                                            Params={"Bucket": BUCKET, "Key": "secret/source"})
        self.assertIn("eu-west-1", url)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=30)
        error = self.assertError(cm.exception.code, cm.exception.read(), 400,
                                 "AuthorizationQueryParametersError")
        self.assertEqual(error["Message"],
                         "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' "
                         "is wrong; expecting 'us-east-1'")
        self.assertEqual(error["Region"], "us-east-1")

    # ---- 4. presigned expiry ------------------------------------------------------------------

    def test_presigned_expiry_out_of_range(self):
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "secret/source"}, ExpiresIn=300)
        with urllib.request.urlopen(url, timeout=30) as r:
            self.assertEqual(r.read(), b"the secret bytes")
        cases = {
            "604801": "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                      "X-Amz-Expires must be less than 604800 seconds",
            "abc": "X-Amz-Expires should be a number",
            "-5": "X-Amz-Expires must be non-negative",
        }
        for value, message in cases.items():
            altered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=" + value)
            self.assertNotEqual(altered, url)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(altered, timeout=30)
            error = self.assertError(cm.exception.code, cm.exception.read(), 400,
                                     "AuthorizationQueryParametersError")
            self.assertEqual(error["Message"], message)
        # A week exactly is allowed (botocore signs it; the signature then holds).
        week = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "secret/source"}, ExpiresIn=604800)
        with urllib.request.urlopen(week, timeout=30) as r:
            self.assertEqual(r.status, 200)

    # ---- 4. Signature Version 2 -------------------------------------------------------------

    def default_client(self, **config):
        """boto3 as a user would make it: no signature_version, so presigned URLs for a custom
        endpoint are SigV2 (botocore 1.43)."""
        return harness.boto3_client("s3", self.s.endpoint, endpoint.ACCESS_KEY,
                                    endpoint.SECRET_KEY, **config)

    def test_aws_cli_v1_presign_url_works_with_urllib(self):
        url = self.s.aws("s3", "presign", f"s3://{BUCKET}/secret/source").stdout.strip()
        self.assertIn("AWSAccessKeyId=", url)  # what the CLI v1 produces: SigV2
        self.assertIn("Signature=", url)
        with urllib.request.urlopen(url, timeout=30) as r:
            self.assertEqual(r.read(), b"the secret bytes")
        # The same URL for another key fails.
        other = url.replace("secret/source", "secret/other")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(other, timeout=30)
        self.assertError(cm.exception.code, cm.exception.read(), 403, "SignatureDoesNotMatch")

    def test_boto3_default_presigned_urls_get_and_put(self):
        client = self.default_client()
        get = client.generate_presigned_url("get_object",
                                            Params={"Bucket": BUCKET, "Key": "secret/source"})
        self.assertIn("AWSAccessKeyId=", get)
        with urllib.request.urlopen(get, timeout=30) as r:
            self.assertEqual(r.read(), b"the secret bytes")
        put = client.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "v2/put.txt",
                                  "ContentType": "text/plain", "Metadata": {"via": "sigv2"}})
        self.assertIn("AWSAccessKeyId=", put)
        request = urllib.request.Request(put, data=b"uploaded", method="PUT",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=30) as r:
            self.assertEqual(r.status, 200)
        head = self.s3.head_object(Bucket=BUCKET, Key="v2/put.txt")
        self.assertEqual(head["ContentType"], "text/plain")
        self.assertEqual(head["Metadata"], {"via": "sigv2"})
        # Another Content-Type than the signed one is refused.
        request = urllib.request.Request(put, data=b"other", method="PUT",
                                         headers={"Content-Type": "text/html"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(request, timeout=30)
        self.assertError(cm.exception.code, cm.exception.read(), 403, "SignatureDoesNotMatch")
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="v2/put.txt")["Body"].read(),
                         b"uploaded")

    def test_sigv2_presigned_url_that_has_expired(self):
        url = self.default_client().generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "secret/source"}, ExpiresIn=-60)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=30)
        error = self.assertError(cm.exception.code, cm.exception.read(), 403, "AccessDenied")
        self.assertEqual(error["Message"], "Request has expired")

    def test_boto3_sigv2_header_auth(self):
        client = self.default_client(signature_version="s3")
        client.put_object(Bucket=BUCKET, Key="v2/header é.bin", Body=b"v2 body",
                          Metadata={"k": "v"})
        got = client.get_object(Bucket=BUCKET, Key="v2/header é.bin")
        self.assertEqual(got["Body"].read(), b"v2 body")
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="v2/")["Contents"]]
        self.assertIn("v2/header é.bin", keys)
        client.delete_object(Bucket=BUCKET, Key="v2/header é.bin")
        self.assertAbsent("v2/header é.bin")

    # ---- 5. server-side encryption --------------------------------------------------------------

    def test_sse_c_and_kms_and_aes256_are_refused_not_ignored(self):
        from botocore.exceptions import ClientError
        cases = {
            "x-amz-server-side-encryption-customer-algorithm": {
                "SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32},
            "x-amz-server-side-encryption": {"ServerSideEncryption": "aws:kms"},
            "x-amz-server-side-encryption-aws-kms-key-id": {
                "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/key"},
        }
        for header, params in cases.items():
            for call, extra in ((self.s3.put_object, {"Body": b"secret"}),
                                (self.s3.create_multipart_upload, {})):
                with self.assertRaises(ClientError) as cm:
                    call(Bucket=BUCKET, Key="sse/object", **params, **extra)
                response = cm.exception.response
                self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 501, header)
                self.assertEqual(response["Error"]["Code"], "NotImplemented")
                self.assertIn("x-amz-server-side-encryption", response["Error"]["Message"])
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=BUCKET, Key="secret/source", SSECustomerAlgorithm="AES256",
                               SSECustomerKey="k" * 32)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        with self.assertRaises(ClientError) as cm:
            self.s3.copy_object(Bucket=BUCKET, Key="sse/copy", ServerSideEncryption="AES256",
                                CopySource={"Bucket": BUCKET, "Key": "secret/source"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotImplemented")
        self.assertAbsent("sse/object")
        self.assertAbsent("sse/copy")
        # The aws CLI's --sse is refused the same way, and says so.
        src = os.path.join(self.s.tmp, "sse.txt")
        with open(src, "wb") as f:
            f.write(b"x")
        proc = self.s.aws("s3", "cp", "--sse", "AES256", src, f"s3://{BUCKET}/sse/cli.txt",
                          check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("NotImplemented", proc.stderr)
        self.assertAbsent("sse/cli.txt")
        # Nothing stored ever claims encryption at rest.
        head = self.s3.head_object(Bucket=BUCKET, Key="secret/source")
        self.assertNotIn("ServerSideEncryption", head)


if __name__ == "__main__":
    unittest.main()
