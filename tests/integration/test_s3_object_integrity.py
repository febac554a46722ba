"""What the embedded S3 endpoint keeps about an object's making (issue 12): the parts of a
multipart upload (GET/HEAD ?partNumber=) and the flexible checksums (x-amz-checksum-*) of
objects and parts, with GetObjectAttributes, driven by boto3 against a real
`thumbflow serve --workers 0`. The tests run with Debian's botocore (1.29: CRC32, CRC32C,
SHA1, SHA256 parameters) and newer ones: CRC64NVME and x-amz-checksum-type are sent as
headers added before signing, and the replies' checksum headers are read as sent.

What S3 answers was taken from the S3 API reference (GetObject, HeadObject) and from S3's
replies as published in other projects' bug reports: a part is a 206 with the part's
Content-Range, the whole object's ETag and x-amz-mp-parts-count; part 1 of an object that
was not uploaded in parts is the whole object (206); a part the object lacks is
416 InvalidPartNumber; partNumber with a Range is 400 InvalidRequest.
"""
import base64
import hashlib
import os
import unittest
import zlib

import botocore.config

import harness
from test_s3_endpoint import ServeFixture
from test_s3_exact import client_error

BUCKET = "images"
MiB = 1 << 20


def _crc64nvme_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x9A6C9329AC4BC9B5 if c & 1 else c >> 1
        table.append(c)
    return table


CRC64NVME_TABLE = _crc64nvme_table()


def digest(algorithm, data):
    """The raw digest S3's flexible checksum `algorithm` takes of `data`."""
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "SHA1":
        return hashlib.sha1(data).digest()
    if algorithm == "SHA256":
        return hashlib.sha256(data).digest()
    if algorithm == "CRC64NVME":
        crc = 0xFFFFFFFFFFFFFFFF
        for byte in data:
            crc = CRC64NVME_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return (crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    raise ValueError(algorithm)


def checksum(algorithm, data):
    return base64.b64encode(digest(algorithm, data)).decode()


def composite(algorithm, parts):
    """S3's COMPOSITE checksum of a multipart upload: of the parts' digests, then -N."""
    joined = b"".join(digest(algorithm, p) for p in parts)
    return f"{checksum(algorithm, joined)}-{len(parts)}"


def headers(reply):
    return reply["ResponseMetadata"]["HTTPHeaders"]


def add_headers(client, event, extra):
    """Sends `extra` headers (signed) with every `event` call of `client` (a botocore too old
    for the parameter, or one that would add a checksum of its own)."""
    def hook(request, **_):
        for name, value in extra.items():
            request.headers[name] = value
    client.meta.events.register(f"before-sign.s3.{event}", hook)
    return hook


class S3ObjectIntegrityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = ServeFixture(name="serve-integrity")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})
        cls.plain = cls.unchecked_client()

    @classmethod
    def unchecked_client(cls):
        """A client that sends only the checksums a test names: a botocore that adds one to
        every upload by itself (1.36 and later) is told not to."""
        try:
            botocore.config.Config(request_checksum_calculation="when_required")
        except TypeError:
            return cls.s.client(retries={"max_attempts": 1})
        return cls.s.client(retries={"max_attempts": 1},
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def multipart(self, key, parts):
        """Uploads `parts` ({part number: bytes}) and completes them; the completion's reply."""
        upload = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        done = []
        for number, data in sorted(parts.items()):
            etag = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload,
                                       PartNumber=number, Body=data)["ETag"]
            done.append({"PartNumber": number, "ETag": etag})
        return upload, done

    # ---- GET / HEAD ?partNumber= ----------------------------------------------------------

    def test_get_and_head_of_each_part_of_a_multipart_object(self):
        key = "parts/three"
        parts = {1: os.urandom(5 * MiB), 2: os.urandom(5 * MiB), 3: os.urandom(MiB + 7)}
        upload, done = self.multipart(key, parts)
        # Not an object before its completion.
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET, Key=key,
                                       PartNumber=1)
        self.assertEqual((status, code), (404, "NoSuchKey"))
        etag = self.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                                 MultipartUpload={"Parts": done})["ETag"]
        total = sum(len(p) for p in parts.values())
        start = 0
        for number, data in sorted(parts.items()):
            end = start + len(data) - 1
            head = self.s3.head_object(Bucket=BUCKET, Key=key, PartNumber=number)
            got = self.s3.get_object(Bucket=BUCKET, Key=key, PartNumber=number)
            for reply in (head, got):
                self.assertEqual(reply["ResponseMetadata"]["HTTPStatusCode"], 206)
                self.assertEqual(reply["PartsCount"], 3)
                self.assertEqual(reply["ETag"], etag)
                self.assertEqual(reply["ContentLength"], len(data))
                # As sent: Debian's botocore has no HeadObject ContentRange.
                self.assertEqual(headers(reply)["content-range"], f"bytes {start}-{end}/{total}")
            self.assertEqual(got["Body"].read(), data, f"part {number}")
            start = end + 1
        # The whole object: no parts count, as S3.
        whole = self.s3.head_object(Bucket=BUCKET, Key=key)
        self.assertEqual(whole["ContentLength"], total)
        self.assertNotIn("PartsCount", whole)
        # A part it does not have.
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET, Key=key,
                                       PartNumber=4)
        self.assertEqual((status, code), (416, "InvalidPartNumber"))
        with self.assertRaises(Exception) as cm:
            self.s3.head_object(Bucket=BUCKET, Key=key, PartNumber=4)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 416)
        # Never with a Range; only 1 to 10000.
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET, Key=key,
                                       PartNumber=1, Range="bytes=0-9")
        self.assertEqual((status, code), (400, "InvalidRequest"))
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET, Key=key,
                                       PartNumber=10001)
        self.assertEqual((status, code), (400, "InvalidArgument"))

    def test_parts_are_found_by_their_numbers_and_survive_a_restart(self):
        # A completion may skip numbers: part 3 is the second part of the object.
        key = "parts/skipped"
        parts = {1: os.urandom(5 * MiB), 3: b"the tail"}
        first = ServeFixture(name="serve-integrity-restart")
        try:
            s3 = first.client(retries={"max_attempts": 1})
            upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            done = []
            for number, data in sorted(parts.items()):
                etag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload,
                                      PartNumber=number, Body=data)["ETag"]
                done.append({"PartNumber": number, "ETag": etag})
            s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                         MultipartUpload={"Parts": done})
        finally:
            first.stop_cleanly()
        second = ServeFixture(data_dir=first.data, name="serve-integrity-restarted")
        try:
            s3 = second.client(retries={"max_attempts": 1})
            got = s3.get_object(Bucket=BUCKET, Key=key, PartNumber=3)
            self.assertEqual(got["Body"].read(), b"the tail")
            self.assertEqual(got["PartsCount"], 2)
            self.assertEqual(got["ContentRange"], f"bytes {5 * MiB}-{5 * MiB + 7}/{5 * MiB + 8}")
            status, code, _ = client_error(self, s3.get_object, Bucket=BUCKET, Key=key,
                                           PartNumber=2)
            self.assertEqual((status, code), (416, "InvalidPartNumber"))
        finally:
            second.stop_cleanly()

    def test_part_one_of_an_object_put_whole_is_the_whole_object(self):
        put = self.s3.put_object(Bucket=BUCKET, Key="parts/single", Body=b"body")
        got = self.s3.get_object(Bucket=BUCKET, Key="parts/single", PartNumber=1)
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(got["Body"].read(), b"body")
        self.assertEqual(got["ETag"], put["ETag"])
        self.assertEqual(got["ContentRange"], "bytes 0-3/4")
        self.assertNotIn("PartsCount", got)
        status, code, _ = client_error(self, self.s3.get_object, Bucket=BUCKET,
                                       Key="parts/single", PartNumber=2)
        self.assertEqual((status, code), (416, "InvalidPartNumber"))

    # ---- flexible checksums ---------------------------------------------------------------

    def test_put_checksums_are_verified_stored_and_answered_when_asked(self):
        data = os.urandom(100_000)
        for algorithm in ("CRC32", "SHA1", "SHA256"):
            key = f"sums/{algorithm}"
            value = checksum(algorithm, data)
            put = self.plain.put_object(Bucket=BUCKET, Key=key, Body=data,
                                        **{f"Checksum{algorithm}": value})
            self.assertEqual(put[f"Checksum{algorithm}"], value)
            # Not answered unless asked (x-amz-checksum-mode: ENABLED).
            head = self.plain.head_object(Bucket=BUCKET, Key=key)
            self.assertNotIn(f"x-amz-checksum-{algorithm.lower()}", headers(head))
            for call in (self.plain.head_object, self.plain.get_object):
                got = call(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(got[f"Checksum{algorithm}"], value, algorithm)
                self.assertEqual(headers(got)["x-amz-checksum-type"], "FULL_OBJECT")
            # A range is not the object: no checksum.
            ranged = self.plain.get_object(Bucket=BUCKET, Key=key, Range="bytes=0-9",
                                           ChecksumMode="ENABLED")
            self.assertNotIn(f"x-amz-checksum-{algorithm.lower()}", headers(ranged))
            # A wrong one is refused and the object stays.
            status, code, _ = client_error(self, self.plain.put_object, Bucket=BUCKET, Key=key,
                                           Body=b"other", **{f"Checksum{algorithm}": value})
            self.assertEqual((status, code), (400, "BadDigest"))
            self.assertEqual(self.plain.get_object(Bucket=BUCKET, Key=key)["Body"].read(), data)

    def test_crc64nvme_and_a_checksum_the_endpoint_computes(self):
        data = b"A" * 1024
        client = self.unchecked_client()
        add_headers(client, "PutObject", {"x-amz-checksum-crc64nvme": "Qeh8oXvGiSo="})
        put = client.put_object(Bucket=BUCKET, Key="sums/crc64", Body=data)
        self.assertEqual(headers(put)["x-amz-checksum-crc64nvme"], "Qeh8oXvGiSo=")
        self.assertEqual(checksum("CRC64NVME", data), "Qeh8oXvGiSo=")  # s3-tests' value
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/crc64", ChecksumMode="ENABLED")
        self.assertEqual(headers(head)["x-amz-checksum-crc64nvme"], "Qeh8oXvGiSo=")
        status, code, _ = client_error(self, client.put_object, Bucket=BUCKET, Key="sums/crc64",
                                       Body=b"B" * 1024)
        self.assertEqual((status, code), (400, "BadDigest"))
        # x-amz-sdk-checksum-algorithm alone: the endpoint computes and keeps it.
        computed = self.unchecked_client()
        add_headers(computed, "PutObject", {"x-amz-sdk-checksum-algorithm": "SHA1"})
        put = computed.put_object(Bucket=BUCKET, Key="sums/computed", Body=data)
        self.assertEqual(headers(put)["x-amz-checksum-sha1"], checksum("SHA1", data))
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/computed", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA1"], checksum("SHA1", data))

    def test_aws_cli_upload_with_a_checksum_algorithm_keeps_it(self):
        harness.require_tool("aws")
        path = os.path.join(self.s.tmp, "cli-upload.bin")
        data = os.urandom(300_000)
        with open(path, "wb") as f:
            f.write(data)
        self.s.aws("s3api", "put-object", "--bucket", BUCKET, "--key", "sums/cli", "--body", path,
                   "--checksum-algorithm", "SHA256")
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/cli", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], checksum("SHA256", data))

    def test_multipart_composite_checksum(self):
        key = "sums/multipart"
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the last part"]
        created = self.plain.create_multipart_upload(Bucket=BUCKET, Key=key,
                                                     ChecksumAlgorithm="SHA256")
        self.assertEqual(created["ChecksumAlgorithm"], "SHA256")
        self.assertEqual(headers(created)["x-amz-checksum-type"], "COMPOSITE")
        upload = created["UploadId"]
        done = []
        for number, data in enumerate(parts, 1):
            reply = self.plain.upload_part(Bucket=BUCKET, Key=key, UploadId=upload,
                                           PartNumber=number, Body=data,
                                           ChecksumSHA256=checksum("SHA256", data))
            self.assertEqual(reply["ChecksumSHA256"], checksum("SHA256", data))
            done.append({"PartNumber": number, "ETag": reply["ETag"],
                         "ChecksumSHA256": reply["ChecksumSHA256"]})
        # Another algorithm than the upload's, or none, is refused (COMPOSITE needs each part's).
        status, code, _ = client_error(self, self.plain.upload_part, Bucket=BUCKET, Key=key,
                                       UploadId=upload, PartNumber=4, Body=b"x",
                                       ChecksumCRC32=checksum("CRC32", b"x"))
        self.assertEqual((status, code), (400, "InvalidRequest"))
        status, code, _ = client_error(self, self.plain.upload_part, Bucket=BUCKET, Key=key,
                                       UploadId=upload, PartNumber=4, Body=b"x")
        self.assertEqual((status, code), (400, "InvalidRequest"))
        listed = self.plain.list_parts(Bucket=BUCKET, Key=key, UploadId=upload)
        self.assertEqual([p["ChecksumSHA256"] for p in listed["Parts"]],
                         [checksum("SHA256", p) for p in parts])
        self.assertEqual(listed["ChecksumAlgorithm"], "SHA256")
        expected = composite("SHA256", parts)
        # A wrong whole checksum, a part's missing or wrong checksum: refused, upload kept.
        status, code, _ = client_error(self, self.plain.complete_multipart_upload, Bucket=BUCKET,
                                       Key=key, UploadId=upload, ChecksumSHA256="bad",
                                       MultipartUpload={"Parts": done})
        self.assertEqual((status, code), (400, "BadDigest"))
        missing = [dict(done[0])] + done[1:]
        del missing[0]["ChecksumSHA256"]
        status, code, _ = client_error(self, self.plain.complete_multipart_upload, Bucket=BUCKET,
                                       Key=key, UploadId=upload,
                                       MultipartUpload={"Parts": missing})
        self.assertEqual((status, code), (400, "InvalidRequest"))
        wrong = [dict(done[0], ChecksumSHA256=checksum("SHA256", b"no"))] + done[1:]
        status, code, _ = client_error(self, self.plain.complete_multipart_upload, Bucket=BUCKET,
                                       Key=key, UploadId=upload, MultipartUpload={"Parts": wrong})
        self.assertEqual((status, code), (400, "InvalidPart"))
        completed = self.plain.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                                         ChecksumSHA256=expected,
                                                         MultipartUpload={"Parts": done})
        self.assertEqual(completed["ChecksumSHA256"], expected)
        # A retry after a lost reply: the same answer.
        again = self.plain.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                                     MultipartUpload={"Parts": done})
        self.assertEqual((again["ETag"], again["ChecksumSHA256"]),
                         (completed["ETag"], expected))
        head = self.plain.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], expected)
        self.assertEqual(headers(head)["x-amz-checksum-type"], "COMPOSITE")
        part = self.plain.get_object(Bucket=BUCKET, Key=key, PartNumber=3, ChecksumMode="ENABLED")
        self.assertEqual(part["ChecksumSHA256"], checksum("SHA256", parts[2]))
        self.assertEqual(part["Body"].read(), parts[2])
        attributes = self.plain.get_object_attributes(
            Bucket=BUCKET, Key=key,
            ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
        self.assertEqual(attributes["ETag"], completed["ETag"].strip('"'))
        self.assertEqual(attributes["Checksum"]["ChecksumSHA256"], expected)
        self.assertEqual(attributes["StorageClass"], "STANDARD")
        self.assertEqual(attributes["ObjectSize"], sum(len(p) for p in parts))
        object_parts = attributes["ObjectParts"]
        self.assertEqual(object_parts.get("TotalPartsCount", object_parts.get("PartsCount")), 3)
        self.assertEqual([(p["PartNumber"], p["Size"], p["ChecksumSHA256"])
                          for p in object_parts["Parts"]],
                         [(n, len(d), checksum("SHA256", d)) for n, d in enumerate(parts, 1)])
        paged = self.plain.get_object_attributes(Bucket=BUCKET, Key=key,
                                                 ObjectAttributes=["ObjectParts"],
                                                 MaxParts=1, PartNumberMarker=1)["ObjectParts"]
        self.assertTrue(paged["IsTruncated"])
        self.assertEqual(paged["NextPartNumberMarker"], 2)
        self.assertEqual([p["PartNumber"] for p in paged["Parts"]], [2])

    def test_full_object_crc64nvme_multipart_and_attributes_of_a_plain_object(self):
        key = "sums/full"
        parts = [os.urandom(5 * MiB), b"tail"]
        client = self.unchecked_client()
        add_headers(client, "CreateMultipartUpload", {"x-amz-checksum-algorithm": "CRC64NVME"})
        created = client.create_multipart_upload(Bucket=BUCKET, Key=key)
        self.assertEqual(headers(created)["x-amz-checksum-type"], "FULL_OBJECT")
        done = []
        for number, data in enumerate(parts, 1):
            reply = client.upload_part(Bucket=BUCKET, Key=key, UploadId=created["UploadId"],
                                       PartNumber=number, Body=data)
            self.assertEqual(headers(reply)["x-amz-checksum-crc64nvme"],
                             checksum("CRC64NVME", data))
            done.append({"PartNumber": number, "ETag": reply["ETag"]})
        # A full-object checksum is the bytes': the parts' checksums may be left out of the
        # completion (a COMPOSITE one needs them), the whole object's one is checked.
        whole = {"x-amz-checksum-crc64nvme": checksum("CRC64NVME", b"wrong")}
        add_headers(client, "CompleteMultipartUpload", whole)
        status, code, _ = client_error(self, client.complete_multipart_upload, Bucket=BUCKET,
                                       Key=key, UploadId=created["UploadId"],
                                       MultipartUpload={"Parts": done})
        self.assertEqual((status, code), (400, "BadDigest"))
        whole["x-amz-checksum-crc64nvme"] = checksum("CRC64NVME", b"".join(parts))
        completed = client.complete_multipart_upload(Bucket=BUCKET, Key=key,
                                                     UploadId=created["UploadId"],
                                                     MultipartUpload={"Parts": done})
        self.assertEqual(completed["ResponseMetadata"]["HTTPStatusCode"], 200)
        head = self.plain.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(headers(head)["x-amz-checksum-crc64nvme"],
                         checksum("CRC64NVME", b"".join(parts)))
        self.assertEqual(headers(head)["x-amz-checksum-type"], "FULL_OBJECT")
        # A plain object: no parts, no checksum; the ETag without quotes.
        put = self.plain.put_object(Bucket=BUCKET, Key="sums/plain", Body=b"foo")
        attributes = self.plain.get_object_attributes(
            Bucket=BUCKET, Key="sums/plain",
            ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
        self.assertEqual(attributes["ETag"], put["ETag"].strip('"'))
        self.assertEqual(attributes["ObjectSize"], 3)
        self.assertNotIn("ObjectParts", attributes)
        self.assertNotIn("Checksum", attributes)
        self.assertNotIn("VersionId", attributes)
        status, code, _ = client_error(self, self.plain.get_object_attributes, Bucket=BUCKET,
                                       Key="sums/plain", ObjectAttributes=["Colour"])
        self.assertEqual((status, code), (400, "InvalidArgument"))

    def test_copy_keeps_the_checksum_or_computes_the_one_asked(self):
        """CopyObject keeps the source's checksum (the metadata copied or replaced);
        x-amz-checksum-algorithm makes the copy one of that algorithm over its bytes; a
        COMPOSITE one (a multipart upload's) becomes the whole copy's, as the copy is one part."""
        data = os.urandom(200_000)
        value = checksum("SHA256", data)
        self.plain.put_object(Bucket=BUCKET, Key="sums/copy-src", Body=data, ChecksumSHA256=value)
        source = {"Bucket": BUCKET, "Key": "sums/copy-src"}
        for directive in ("COPY", "REPLACE"):
            key = f"sums/copy-{directive}"
            copied = self.plain.copy_object(Bucket=BUCKET, Key=key, CopySource=source,
                                            MetadataDirective=directive, TaggingDirective=directive)
            self.assertEqual(copied["CopyObjectResult"]["ChecksumSHA256"], value, directive)
            head = self.plain.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
            self.assertEqual(head["ChecksumSHA256"], value, directive)
            self.assertEqual(headers(head)["x-amz-checksum-type"], "FULL_OBJECT")
            attributes = self.plain.get_object_attributes(Bucket=BUCKET, Key=key,
                                                          ObjectAttributes=["Checksum"])
            self.assertEqual(attributes["Checksum"]["ChecksumSHA256"], value, directive)
        # Onto itself (new metadata): the copy finds its own write there, and keeps the sum.
        self.plain.copy_object(Bucket=BUCKET, Key="sums/copy-src", CopySource=source,
                               MetadataDirective="REPLACE", Metadata={"m": "1"})
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/copy-src", ChecksumMode="ENABLED")
        self.assertEqual((head["ChecksumSHA256"], head["Metadata"]), (value, {"m": "1"}))
        self.plain.copy_object(Bucket=BUCKET, Key="sums/copy-crc32", CopySource=source,
                               ChecksumAlgorithm="CRC32")
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/copy-crc32", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32"], checksum("CRC32", data))
        self.assertNotIn("ChecksumSHA256", head)
        # An object stored without one is copied without one.
        self.plain.put_object(Bucket=BUCKET, Key="sums/copy-none", Body=b"plain")
        self.plain.copy_object(Bucket=BUCKET, Key="sums/copy-none-2",
                               CopySource={"Bucket": BUCKET, "Key": "sums/copy-none"})
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/copy-none-2", ChecksumMode="ENABLED")
        self.assertNotIn("x-amz-checksum-type", headers(head))
        # A multipart upload's COMPOSITE checksum.
        parts = [os.urandom(5 * MiB), b"the last part"]
        created = self.plain.create_multipart_upload(Bucket=BUCKET, Key="sums/copy-mp",
                                                     ChecksumAlgorithm="SHA1")
        done = []
        for number, part in enumerate(parts, 1):
            reply = self.plain.upload_part(Bucket=BUCKET, Key="sums/copy-mp",
                                           UploadId=created["UploadId"], PartNumber=number,
                                           Body=part, ChecksumSHA1=checksum("SHA1", part))
            done.append({"PartNumber": number, "ETag": reply["ETag"],
                         "ChecksumSHA1": reply["ChecksumSHA1"]})
        self.plain.complete_multipart_upload(Bucket=BUCKET, Key="sums/copy-mp",
                                             UploadId=created["UploadId"],
                                             MultipartUpload={"Parts": done})
        self.plain.copy_object(Bucket=BUCKET, Key="sums/copy-mp-2",
                               CopySource={"Bucket": BUCKET, "Key": "sums/copy-mp"})
        head = self.plain.head_object(Bucket=BUCKET, Key="sums/copy-mp-2", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA1"], checksum("SHA1", b"".join(parts)))
        self.assertEqual(headers(head)["x-amz-checksum-type"], "FULL_OBJECT")
        # An algorithm S3 does not know: 400 InvalidRequest, nothing copied.
        client = self.unchecked_client()
        add_headers(client, "CopyObject", {"x-amz-checksum-algorithm": "MD5"})
        status, code, _ = client_error(self, client.copy_object, Bucket=BUCKET,
                                       Key="sums/copy-md5", CopySource=source)
        self.assertEqual((status, code), (400, "InvalidRequest"))
        status, _, _ = client_error(self, self.plain.head_object, Bucket=BUCKET,
                                    Key="sums/copy-md5")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
