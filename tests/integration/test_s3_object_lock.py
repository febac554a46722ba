"""S3 Object Lock on the embedded endpoint (issue 12), driven by boto3 against a real
`thumbflow serve`.

- CreateBucket with x-amz-bucket-object-lock-enabled (versioning Enabled, never Suspended:
  409 InvalidBucketState), Put/GetObjectLockConfiguration and their errors (MalformedXML,
  InvalidRetentionPeriod, 404 ObjectLockConfigurationNotFoundError, 409 on an unversioned
  bucket), kept across a restart and forgotten with the bucket;
- each version's retention and legal hold: x-amz-object-lock-* on PutObject, CopyObject and
  CreateMultipartUpload, the bucket's default retention, the headers of GET / HEAD,
  Put/GetObjectRetention and Put/GetObjectLegalHold (COMPLIANCE never shortened, GOVERNANCE only
  with x-amz-bypass-governance-retention), 400 InvalidRequest on a bucket without object lock;
- protection: DELETE of a locked version 403 AccessDenied (GOVERNANCE: allowed with the bypass
  header), a DELETE without versionId still adds a delete marker, DeleteObjects entry by entry;
  a policy's Deny of s3:BypassGovernanceRetention or s3:PutObjectRetention is obeyed.

S3's answers (codes, messages, headers) were taken from the S3 API reference and the object
lock cases of ceph/s3-tests (read, not copied).
"""
import datetime
import hashlib
import json
import os
import sqlite3
import unittest

from test_s3_endpoint import ServeFixture
from test_s3_exact import client_error

UTC = datetime.timezone.utc
FAR = datetime.datetime(2140, 1, 1, tzinfo=UTC)
LATER = datetime.datetime(2140, 6, 1, tzinfo=UTC)


def governance_days(days=1):
    return {"ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": days}}}


class S3ObjectLockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = ServeFixture(name="serve-object-lock")
        cls.s3 = cls.s.client(retries={"max_attempts": 1})

    @classmethod
    def tearDownClass(cls):
        cls.s.stop_cleanly()

    def locked_bucket(self, name):
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        return name

    # ---- piece 1: the bucket's configuration ----------------------------------------------

    def test_a_bucket_created_with_object_lock(self):
        b = self.locked_bucket("lock-create")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.assertEqual(self.s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"],
                         {"ObjectLockEnabled": "Enabled"})
        for conf in (governance_days(1),
                     {"ObjectLockEnabled": "Enabled",
                      "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 2}}}):
            self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration=conf)
            self.assertEqual(self.s3.get_object_lock_configuration(Bucket=b)
                             ["ObjectLockConfiguration"], conf)
        status, code, message = client_error(self, self.s3.put_bucket_versioning, Bucket=b,
                                             VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual((status, code), (409, "InvalidBucketState"))
        self.assertIn("Object Lock configuration is present", message)
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")

    def test_malformed_configurations_are_refused(self):
        b = self.locked_bucket("lock-bad-conf")
        cases = [
            ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, 400, "MalformedXML"),
            ({"Mode": "governance", "Years": 1}, 400, "MalformedXML"),
            ({"Mode": "abc", "Days": 1}, 400, "MalformedXML"),
            ({"Mode": "GOVERNANCE", "Days": 0}, 400, "InvalidRetentionPeriod"),
            ({"Mode": "GOVERNANCE", "Years": -1}, 400, "InvalidRetentionPeriod"),
        ]
        for retention, want_status, want_code in cases:
            conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}}
            got = client_error(self, self.s3.put_object_lock_configuration, Bucket=b,
                               ObjectLockConfiguration=conf)
            self.assertEqual(got[:2], (want_status, want_code), retention)
        got = client_error(self, self.s3.put_object_lock_configuration, Bucket=b,
                           ObjectLockConfiguration={"ObjectLockEnabled": "Disabled"})
        self.assertEqual(got[:2], (400, "MalformedXML"))
        # Nothing of these was kept.
        self.assertEqual(self.s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"],
                         {"ObjectLockEnabled": "Enabled"})

    def test_a_bucket_without_object_lock(self):
        b = "lock-plain"
        self.s3.create_bucket(Bucket=b)
        got = client_error(self, self.s3.get_object_lock_configuration, Bucket=b)
        self.assertEqual(got[:2], (404, "ObjectLockConfigurationNotFoundError"))
        # Only a versioning-enabled bucket may get object lock afterwards.
        for versioning in (None, "Suspended"):
            if versioning:
                self.s3.put_bucket_versioning(Bucket=b,
                                              VersioningConfiguration={"Status": versioning})
            got = client_error(self, self.s3.put_object_lock_configuration, Bucket=b,
                               ObjectLockConfiguration=governance_days())
            self.assertEqual(got[:2], (409, "InvalidBucketState"), versioning)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration=governance_days())
        got = client_error(self, self.s3.put_bucket_versioning, Bucket=b,
                           VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(got[:2], (409, "InvalidBucketState"))
        # The object calls too: 400 InvalidRequest on a bucket without object lock.
        p = "lock-plain-objects"
        self.s3.create_bucket(Bucket=p)
        self.s3.put_object(Bucket=p, Key="k", Body=b"x")
        for call, kwargs in ((self.s3.put_object_retention,
                              {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}}),
                             (self.s3.get_object_retention, {}),
                             (self.s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
                             (self.s3.get_object_legal_hold, {}),
                             (self.s3.put_object, {"Body": b"y", "ObjectLockLegalHoldStatus": "ON"}),
                             (self.s3.put_object, {"Body": b"y", "ObjectLockMode": "GOVERNANCE",
                                                   "ObjectLockRetainUntilDate": FAR})):
            got = client_error(self, call, Bucket=p, Key="k", **kwargs)
            self.assertEqual(got[:3], (400, "InvalidRequest",
                                       "Bucket is missing Object Lock Configuration"), call)
        self.assertEqual(self.s3.get_object(Bucket=p, Key="k")["Body"].read(), b"x")

    def test_the_configuration_survives_a_restart_and_dies_with_its_bucket(self):
        s = ServeFixture(name="serve-object-lock-restart")
        try:
            s3 = s.client(retries={"max_attempts": 1})
            s3.create_bucket(Bucket="lock-kept", ObjectLockEnabledForBucket=True)
            s3.put_object_lock_configuration(Bucket="lock-kept",
                                             ObjectLockConfiguration=governance_days(3))
            v = s3.put_object(Bucket="lock-kept", Key="k", Body=b"x",
                              ObjectLockLegalHoldStatus="ON")["VersionId"]
            s3.create_bucket(Bucket="lock-gone", ObjectLockEnabledForBucket=True)
            s3.delete_bucket(Bucket="lock-gone")
            s.stop_cleanly()
            s = ServeFixture(data_dir=s.data, name="serve-object-lock-again")
            s3 = s.client(retries={"max_attempts": 1})
            self.assertEqual(s3.get_object_lock_configuration(Bucket="lock-kept")
                             ["ObjectLockConfiguration"], governance_days(3))
            self.assertEqual(s3.get_object_legal_hold(Bucket="lock-kept", Key="k",
                                                      VersionId=v)["LegalHold"], {"Status": "ON"})
            got = client_error(self, s3.delete_object, Bucket="lock-kept", Key="k", VersionId=v)
            self.assertEqual(got[:2], (403, "AccessDenied"))
            got = client_error(self, s3.put_bucket_versioning, Bucket="lock-kept",
                               VersioningConfiguration={"Status": "Suspended"})
            self.assertEqual(got[:2], (409, "InvalidBucketState"))
            # A bucket made again under a deleted one's name starts without its lock.
            s3.create_bucket(Bucket="lock-gone")
            got = client_error(self, s3.get_object_lock_configuration, Bucket="lock-gone")
            self.assertEqual(got[:2], (404, "ObjectLockConfigurationNotFoundError"))
        finally:
            s.stop()

    def test_a_data_folder_of_the_earlier_release_keeps_its_locks(self):
        """Until the store kept them, serve kept locks in files: DATA/object-lock/
        <bucket>@<created_ms>/configuration.xml and versions/<sha256(key)>.<versionId>
        ("<mode or ->\\n<until ms>\\n<0 never, 1 ON, 2 OFF>\\n"). Such a folder, laid out
        here by hand on a stopped serve's data (the store's lock columns cleared), keeps every
        lock: serve moves them into the store at start and removes the files."""
        s = ServeFixture(name="serve-object-lock-old")
        try:
            s3 = s.client(retries={"max_attempts": 1})
            s3.create_bucket(Bucket="lock-old", ObjectLockEnabledForBucket=True)
            v1 = s3.put_object(Bucket="lock-old", Key="dir/k 1", Body=b"one")["VersionId"]
            v2 = s3.put_object(Bucket="lock-old", Key="dir/k 1", Body=b"two")["VersionId"]
            s.stop_cleanly()
            db = sqlite3.connect(os.path.join(s.data, "thumbflow.db"))
            created_ms = db.execute("SELECT created_ms FROM store_buckets WHERE name = ?",
                                    ("lock-old",)).fetchone()[0]
            db.execute("UPDATE store_buckets SET object_lock = '' WHERE name = 'lock-old'")
            db.commit()
            db.close()
            folder = os.path.join(s.data, "object-lock", f"lock-old@{created_ms}")
            os.makedirs(os.path.join(folder, "versions"))
            with open(os.path.join(folder, "configuration.xml"), "w") as f:
                f.write('<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                        "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                        "<Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule>"
                        "</ObjectLockConfiguration>")
            name = hashlib.sha256(b"dir/k 1").hexdigest()
            far_ms = int(FAR.timestamp() * 1000)
            with open(os.path.join(folder, "versions", f"{name}.{v1}"), "w") as f:
                f.write(f"COMPLIANCE\n{far_ms}\n1\n")
            with open(os.path.join(folder, "versions", f"{name}.{v2}"), "w") as f:
                f.write("-\n0\n2\n")
            s = ServeFixture(data_dir=s.data, name="serve-object-lock-old-again")
            s3 = s.client(retries={"max_attempts": 1})
            self.assertEqual(s3.get_object_lock_configuration(Bucket="lock-old")
                             ["ObjectLockConfiguration"], governance_days(3))
            retention = s3.get_object_retention(Bucket="lock-old", Key="dir/k 1",
                                                VersionId=v1)["Retention"]
            self.assertEqual((retention["Mode"], retention["RetainUntilDate"]),
                             ("COMPLIANCE", FAR))
            self.assertEqual(s3.get_object_legal_hold(Bucket="lock-old", Key="dir/k 1",
                                                      VersionId=v1)["LegalHold"], {"Status": "ON"})
            self.assertEqual(s3.get_object_legal_hold(Bucket="lock-old", Key="dir/k 1",
                                                      VersionId=v2)["LegalHold"],
                             {"Status": "OFF"})
            got = client_error(self, s3.delete_object, Bucket="lock-old", Key="dir/k 1",
                               VersionId=v1, BypassGovernanceRetention=True)
            self.assertEqual(got[:2], (403, "AccessDenied"))
            self.assertFalse(os.path.exists(os.path.join(folder, "configuration.xml")))
            self.assertFalse(os.path.exists(os.path.join(folder, "versions")))
            # The store has them now: a later start finds no files and keeps every lock.
            s.stop_cleanly()
            s = ServeFixture(data_dir=s.data, name="serve-object-lock-old-third")
            s3 = s.client(retries={"max_attempts": 1})
            self.assertEqual(s3.head_object(Bucket="lock-old", Key="dir/k 1", VersionId=v1)
                             ["ObjectLockMode"], "COMPLIANCE")
        finally:
            s.stop()

    # ---- piece 2: each version's retention and legal hold ---------------------------------

    def test_a_version_is_never_written_without_its_lock(self):
        """The lock is committed with the version, in the store's transaction: nothing written
        beside it can fail a locked write after the version exists. Here the folder where the
        release before kept version locks (DATA/object-lock/<bucket>@<created_ms>/versions)
        is a file; that release stored the version and then answered 500 with it unlocked."""
        b = self.locked_bucket("lock-atomic")
        db = sqlite3.connect(os.path.join(self.s.data, "thumbflow.db"))
        created_ms = db.execute("SELECT created_ms FROM store_buckets WHERE name = ?",
                                (b,)).fetchone()[0]
        db.close()
        folder = os.path.join(self.s.data, "object-lock", f"{b}@{created_ms}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "versions"), "w") as f:
            f.write("not a folder")
        put = self.s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                                 ObjectLockRetainUntilDate=FAR)
        head = self.s3.head_object(Bucket=b, Key="k", VersionId=put["VersionId"])
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]),
                         ("COMPLIANCE", FAR))
        got = client_error(self, self.s3.delete_object, Bucket=b, Key="k",
                           VersionId=put["VersionId"])
        self.assertEqual(got[:2], (403, "AccessDenied"))

    def test_lock_headers_on_writes_and_reads(self):
        b = self.locked_bucket("lock-writes")
        put = self.s3.put_object(Bucket=b, Key="k", Body=b"abc", ObjectLockMode="GOVERNANCE",
                                 ObjectLockRetainUntilDate=FAR, ObjectLockLegalHoldStatus="ON")
        head = self.s3.head_object(Bucket=b, Key="k")
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"],
                          head["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", FAR, "ON"))
        got = self.s3.get_object(Bucket=b, Key="k", VersionId=put["VersionId"])
        self.assertEqual((got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]),
                         ("GOVERNANCE", FAR))
        # A copy and a multipart upload take theirs from their own headers.
        copied = self.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "k"},
                                     ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=LATER)
        head = self.s3.head_object(Bucket=b, Key="c", VersionId=copied["VersionId"])
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]),
                         ("COMPLIANCE", LATER))
        self.assertNotIn("ObjectLockLegalHoldStatus", head)
        up = self.s3.create_multipart_upload(Bucket=b, Key="m", ObjectLockLegalHoldStatus="ON")
        part = self.s3.upload_part(Bucket=b, Key="m", UploadId=up["UploadId"], PartNumber=1,
                                   Body=b"abc")
        done = self.s3.complete_multipart_upload(
            Bucket=b, Key="m", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=b, Key="m",
                                                       VersionId=done["VersionId"])["LegalHold"],
                         {"Status": "ON"})
        # A version without lock answers none of the headers.
        plain = self.s3.put_object(Bucket=b, Key="p", Body=b"x")
        head = self.s3.head_object(Bucket=b, Key="p", VersionId=plain["VersionId"])
        self.assertNotIn("ObjectLockMode", head)
        got = client_error(self, self.s3.get_object_retention, Bucket=b, Key="p")
        self.assertEqual(got[:2], (404, "NoSuchObjectLockConfiguration"))

    def test_malformed_lock_headers_write_nothing(self):
        b = self.locked_bucket("lock-bad-headers")
        past = datetime.datetime(2001, 1, 1, tzinfo=UTC)
        for kwargs, message in (
                ({"ObjectLockMode": "GOVERNANCE"}, "must both be supplied"),
                ({"ObjectLockRetainUntilDate": FAR}, "must both be supplied"),
                ({"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": past},
                 "must be in the future"),
                ({"ObjectLockLegalHoldStatus": "MAYBE"}, "ON' or 'OFF")):
            got = client_error(self, self.s3.put_object, Bucket=b, Key="k", Body=b"x", **kwargs)
            self.assertEqual(got[:2], (400, "InvalidArgument"), kwargs)
            self.assertIn(message, got[2])
        self.assertNotIn("Versions", self.s3.list_object_versions(Bucket=b))

    def test_form_uploads_take_the_lock_fields(self):
        """A PostObject's x-amz-object-lock-* fields lock the version as a PUT's headers do;
        malformed ones store nothing."""
        import requests
        b = self.locked_bucket("lock-form")
        until = "2140-01-01T00:00:00Z"

        def post(key, fields):
            form = self.s3.generate_presigned_post(
                b, key, Fields=fields, Conditions=[{k: v} for k, v in fields.items()],
                ExpiresIn=300)
            return requests.post(form["url"], data=form["fields"],
                                 files={"file": ("f.bin", b"form bytes")}, timeout=60)

        r = post("held", {"x-amz-object-lock-mode": "GOVERNANCE",
                          "x-amz-object-lock-retain-until-date": until,
                          "x-amz-object-lock-legal-hold": "ON"})
        self.assertEqual(r.status_code, 204, r.text)
        head = self.s3.head_object(Bucket=b, Key="held")
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"],
                          head["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", FAR, "ON"))
        r = post("half", {"x-amz-object-lock-mode": "GOVERNANCE"})
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("<Code>InvalidArgument</Code>", r.text)
        got = client_error(self, self.s3.head_object, Bucket=b, Key="half")
        self.assertEqual(got[0], 404)

    def test_the_default_retention_applies_to_new_versions(self):
        b = self.locked_bucket("lock-default")
        self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration=governance_days(2))
        before = datetime.datetime.now(UTC)
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        after = datetime.datetime.now(UTC)
        retention = self.s3.get_object_retention(Bucket=b, Key="k", VersionId=v)["Retention"]
        self.assertEqual(retention["Mode"], "GOVERNANCE")
        until = retention["RetainUntilDate"]
        self.assertLessEqual(before + datetime.timedelta(days=2) - datetime.timedelta(seconds=1),
                             until)
        self.assertLessEqual(until, after + datetime.timedelta(days=2, seconds=1))
        # Explicit headers win over the default.
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"y", ObjectLockMode="COMPLIANCE",
                                ObjectLockRetainUntilDate=FAR)["VersionId"]
        self.assertEqual(self.s3.get_object_retention(Bucket=b, Key="k", VersionId=v2)
                         ["Retention"], {"Mode": "COMPLIANCE", "RetainUntilDate": FAR})

    def test_retention_changes_as_s3_allows_them(self):
        b = self.locked_bucket("lock-retention")
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        gov = {"Mode": "GOVERNANCE", "RetainUntilDate": LATER}
        self.s3.put_object_retention(Bucket=b, Key="k", Retention=gov)
        self.assertEqual(self.s3.get_object_retention(Bucket=b, Key="k")["Retention"], gov)
        # Lengthened freely; shortened or made COMPLIANCE only with the bypass header.
        shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}
        for retention in (shorter, {"Mode": "COMPLIANCE", "RetainUntilDate": LATER}):
            got = client_error(self, self.s3.put_object_retention, Bucket=b, Key="k",
                               Retention=retention)
            self.assertEqual(got[:2], (403, "AccessDenied"), retention)
        self.s3.put_object_retention(Bucket=b, Key="k", Retention=shorter,
                                     BypassGovernanceRetention=True)
        comp = {"Mode": "COMPLIANCE", "RetainUntilDate": FAR}
        got = client_error(self, self.s3.put_object_retention, Bucket=b, Key="k", VersionId=v,
                           Retention=comp)
        self.assertEqual(got[:2], (403, "AccessDenied"))
        self.s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention=comp,
                                     BypassGovernanceRetention=True)
        # COMPLIANCE: never shortened nor made GOVERNANCE, bypass or not.
        for retention in ({"Mode": "COMPLIANCE",
                           "RetainUntilDate": datetime.datetime(2139, 1, 1, tzinfo=UTC)},
                          {"Mode": "GOVERNANCE", "RetainUntilDate": LATER}):
            got = client_error(self, self.s3.put_object_retention, Bucket=b, Key="k",
                               Retention=retention, BypassGovernanceRetention=True)
            self.assertEqual(got[:2], (403, "AccessDenied"), retention)
        self.s3.put_object_retention(Bucket=b, Key="k", Retention={"Mode": "COMPLIANCE",
                                                                   "RetainUntilDate": LATER})
        self.assertEqual(self.s3.get_object_retention(Bucket=b, Key="k", VersionId=v)
                         ["Retention"]["RetainUntilDate"], LATER)
        got = client_error(self, self.s3.put_object_retention, Bucket=b, Key="k",
                           Retention={"Mode": "governance", "RetainUntilDate": LATER})
        self.assertEqual(got[:2], (400, "MalformedXML"))

    def test_legal_hold_on_and_off(self):
        b = self.locked_bucket("lock-hold")
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        got = client_error(self, self.s3.get_object_legal_hold, Bucket=b, Key="k")
        self.assertEqual(got[:2], (404, "NoSuchObjectLockConfiguration"))
        for status in ("ON", "OFF", "ON"):
            self.s3.put_object_legal_hold(Bucket=b, Key="k", LegalHold={"Status": status})
            self.assertEqual(self.s3.get_object_legal_hold(Bucket=b, Key="k", VersionId=v)
                             ["LegalHold"], {"Status": status})
        got = client_error(self, self.s3.put_object_legal_hold, Bucket=b, Key="k",
                           LegalHold={"Status": "abc"})
        self.assertEqual(got[:2], (400, "MalformedXML"))

    # ---- piece 3: protection -----------------------------------------------------------

    def test_locked_versions_cannot_be_deleted(self):
        b = self.locked_bucket("lock-delete")
        gov = self.s3.put_object(Bucket=b, Key="g", Body=b"x", ObjectLockMode="GOVERNANCE",
                                 ObjectLockRetainUntilDate=FAR)["VersionId"]
        comp = self.s3.put_object(Bucket=b, Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                                  ObjectLockRetainUntilDate=FAR)["VersionId"]
        held = self.s3.put_object(Bucket=b, Key="h", Body=b"x",
                                  ObjectLockLegalHoldStatus="ON")["VersionId"]
        free = self.s3.put_object(Bucket=b, Key="f", Body=b"x")["VersionId"]
        for key, version in (("g", gov), ("c", comp), ("h", held)):
            got = client_error(self, self.s3.delete_object, Bucket=b, Key=key, VersionId=version)
            self.assertEqual(got[:2], (403, "AccessDenied"), key)
        for key, version in (("c", comp), ("h", held)):
            got = client_error(self, self.s3.delete_object, Bucket=b, Key=key, VersionId=version,
                               BypassGovernanceRetention=True)
            self.assertEqual(got[:2], (403, "AccessDenied"), key)
        # Without a version id a delete adds a marker; the locked version stays.
        marker = self.s3.delete_object(Bucket=b, Key="c")
        self.assertTrue(marker["DeleteMarker"])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c", VersionId=comp)["Body"].read(), b"x")
        # DeleteObjects decides entry by entry.
        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [
            {"Key": "g", "VersionId": gov}, {"Key": "f", "VersionId": free}]})
        self.assertEqual([(e["Key"], e["VersionId"], e["Code"]) for e in out["Errors"]],
                         [("g", gov, "AccessDenied")])
        self.assertEqual([(d["Key"], d["VersionId"]) for d in out["Deleted"]], [("f", free)])
        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "g", "VersionId": gov}]},
                                     BypassGovernanceRetention=True)
        self.assertEqual([(d["Key"], d["VersionId"]) for d in out["Deleted"]], [("g", gov)])
        self.assertNotIn("Errors", out)
        # A legal hold taken off frees its version.
        self.s3.put_object_legal_hold(Bucket=b, Key="h", LegalHold={"Status": "OFF"})
        self.s3.delete_object(Bucket=b, Key="h", VersionId=held)
        got = client_error(self, self.s3.delete_bucket, Bucket=b)
        self.assertEqual(got[:2], (409, "BucketNotEmpty"))

    def test_a_policy_decides_the_bypass_and_the_lock_calls(self):
        b = self.locked_bucket("lock-policy")
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                               ObjectLockRetainUntilDate=FAR)["VersionId"]
        deny = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Resource": f"arn:aws:s3:::{b}/*",
             "Action": ["s3:BypassGovernanceRetention", "s3:GetObjectLegalHold"]}]}
        self.s3.put_bucket_policy(Bucket=b, Policy=json.dumps(deny))
        got = client_error(self, self.s3.delete_object, Bucket=b, Key="k", VersionId=v,
                           BypassGovernanceRetention=True)
        self.assertEqual(got[:2], (403, "AccessDenied"))
        got = client_error(self, self.s3.get_object_legal_hold, Bucket=b, Key="k")
        self.assertEqual(got[:2], (403, "AccessDenied"))
        self.assertEqual(self.s3.get_object_retention(Bucket=b, Key="k")["Retention"]["Mode"],
                         "GOVERNANCE")
        self.s3.delete_bucket_policy(Bucket=b)
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v, BypassGovernanceRetention=True)


if __name__ == "__main__":
    unittest.main()
