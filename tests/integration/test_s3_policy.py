"""S3 bucket policies on the embedded endpoint (issue 12): `thumbflow serve` with alice and bob
in [[server.users]] beside its first user, driven by boto3 (signed as each user, and
unsigned) and the aws CLI v1.

What S3 answers was taken from the S3 API reference and the IAM policy evaluation logic:
PutBucketPolicy answers 204 and GetBucketPolicy the document as it was put, a bucket without
one 404 NoSuchBucketPolicy, a bad document 400 MalformedPolicy with S3's message; an explicit
Deny beats any Allow (the bucket owner is not exempt, but may always manage the policy
itself), an Allow grants beyond the ACLs, to unsigned requests too when the principal is "*";
a condition key absent from the request fails a positive operator and satisfies a negated
one; another account's PutBucketPolicy is 405 when the policy would allow it. A request naming
an object version needs the Version action (s3:GetObjectVersion, s3:DeleteObjectVersion,
s3:Get/PutObjectVersionAcl, s3:Get/Put/DeleteObjectVersionTagging, with s3:versionid), as the
Service Authorization Reference maps S3's operations to actions, and is decided by that
version's ACL.
"""
import json
import os
import unittest

from test_s3_acl import AclServe, AclTestCase
from test_s3_exact import client_error


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, action, resource, condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": principal, "Action": action,
                 "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(principal, action, resource, condition=None):
    return allow(principal, action, resource, condition, effect="Deny")


class S3PolicyTest(AclTestCase):
    def error(self, call, *args, **kwargs):
        return client_error(self, call, *args, **kwargs)

    def bucket(self, name, objects=()):
        self.alice.create_bucket(Bucket=name)
        for key in objects:
            self.alice.put_object(Bucket=name, Key=key, Body=key.encode())
        return name

    def test_put_get_delete_with_the_aws_cli_and_what_s3_refuses(self):
        bucket = self.bucket("pol-cli")
        document = ('{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", '
                    '"Principal": {"AWS": "bob"}, "Action": "s3:ListBucket", '
                    f'"Resource": "arn:aws:s3:::{bucket}"}}]\n}}\n')
        path = os.path.join(self.s.tmp, "policy.json")
        with open(path, "w") as f:
            f.write(document)
        missing = self.s.aws_as("alice", "s3api", "get-bucket-policy", "--bucket", bucket,
                                check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("(NoSuchBucketPolicy)", missing.stderr)
        self.s.aws_as("alice", "s3api", "put-bucket-policy", "--bucket", bucket,
                      "--policy", f"file://{path}")
        got = json.loads(self.s.aws_as("alice", "s3api", "get-bucket-policy", "--bucket",
                                       bucket).stdout)
        self.assertEqual(got["Policy"], document)  # byte for byte, as S3 keeps it
        self.assertEqual(self.bob.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        self.s.aws_as("alice", "s3api", "delete-bucket-policy", "--bucket", bucket)
        self.denied(self.bob.list_objects_v2, Bucket=bucket)
        status, code, _ = self.error(self.alice.get_bucket_policy, Bucket=bucket)
        self.assertEqual((status, code), (404, "NoSuchBucketPolicy"))
        # Malformed documents: 400 MalformedPolicy with S3's message; nothing is stored.
        for document, message in [
                ("not json", "Policies must be valid JSON and the first byte must be '{'"),
                (policy(allow({"AWS": "mallory"}, "s3:GetObject",
                              f"arn:aws:s3:::{bucket}/*")), "Invalid principal in policy"),
                (policy(allow("*", "s3:Fly", f"arn:aws:s3:::{bucket}/*")),
                 "Policy has invalid action"),
                (policy(allow("*", "s3:GetObject", "arn:aws:s3:::another/*")),
                 "Policy has invalid resource"),
                (policy(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}")),
                 "Action does not apply to any resource(s) in statement")]:
            proc = self.s.aws_as("alice", "s3api", "put-bucket-policy", "--bucket", bucket,
                                 "--policy", document, check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(f"An error occurred (MalformedPolicy) when calling the "
                          f"PutBucketPolicy operation: {message}", proc.stderr)
        status, code, _ = self.error(self.alice.get_bucket_policy, Bucket=bucket)
        self.assertEqual(code, "NoSuchBucketPolicy")

    def test_only_the_owner_manages_the_policy_and_a_deny_never_locks_it_out(self):
        bucket = self.bucket("pol-owner", ["k"])
        everything = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(deny("*", "s3:*", everything)))
        # The Deny applies to the owner too...
        self.denied(self.alice.get_object, Bucket=bucket, Key="k")
        self.denied(self.alice.list_objects_v2, Bucket=bucket)
        # ... but never to managing the policy itself.
        self.assertIn("Deny", self.alice.get_bucket_policy(Bucket=bucket)["Policy"])
        for client in (self.bob, self.anon):
            self.denied(client.get_bucket_policy, Bucket=bucket)
            self.denied(client.delete_bucket_policy, Bucket=bucket)
            self.denied(client.put_bucket_policy, Bucket=bucket, Policy=policy(
                allow("*", "s3:*", everything)))
        # Another account the policy would allow: 405, as S3 answers.
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, ["s3:GetBucketPolicy", "s3:PutBucketPolicy"], everything)))
        status, code, _ = self.error(self.bob.get_bucket_policy, Bucket=bucket)
        self.assertEqual((status, code), (405, "MethodNotAllowed"))
        self.alice.delete_bucket_policy(Bucket=bucket)
        self.assertEqual(self.alice.get_object(Bucket=bucket, Key="k")["Body"].read(), b"k")

    def test_allow_grants_beyond_acls_to_named_users_and_anonymous(self):
        bucket = self.bucket("pol-public", ["public/a.txt", "private/b.txt"])
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow("*", "s3:GetObject", [f"arn:aws:s3:::{bucket}/public/*",
                                         f"arn:aws:s3:::{bucket}/inbox/*"]),
            allow({"AWS": "arn:aws:iam::bob:root"}, ["s3:ListBucket", "s3:PutObject"],
                  [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/inbox/*"])))
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read(),
                         b"public/a.txt")
        self.assertEqual(self.bob.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read(),
                         b"public/a.txt")
        self.denied(self.anon.get_object, Bucket=bucket, Key="private/b.txt")
        self.denied(self.bob.get_object, Bucket=bucket, Key="private/b.txt")
        self.denied(self.anon.list_objects_v2, Bucket=bucket)
        keys = [o["Key"] for o in self.bob.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(keys, ["private/b.txt", "public/a.txt"])
        self.bob.put_object(Bucket=bucket, Key="inbox/from-bob", Body=b"hi")
        self.denied(self.bob.put_object, Bucket=bucket, Key="elsewhere", Body=b"hi")
        self.denied(self.anon.put_object, Bucket=bucket, Key="inbox/anon", Body=b"hi")
        # Bob's object is bob's: alice's policy does not make it readable to others (nor to
        # alice), as on S3; bob's ACL does.
        self.denied(self.anon.get_object, Bucket=bucket, Key="inbox/from-bob")
        self.denied(self.alice.get_object, Bucket=bucket, Key="inbox/from-bob")
        self.bob.put_object_acl(Bucket=bucket, Key="inbox/from-bob", ACL="public-read")
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="inbox/from-bob")["Body"]
                         .read(), b"hi")
        # A form upload is a PutObject too: anonymous, not allowed here.
        import requests
        posted = requests.post(f"{self.s.endpoint}/{bucket}",
                               files={"key": (None, "inbox/form.txt"),
                                      "file": ("form.txt", b"posted")}, timeout=30)
        self.assertEqual(posted.status_code, 403, posted.text)

    def test_a_form_upload_is_a_put_object_of_its_signer_with_its_fields(self):
        import requests
        bucket = self.bucket("pol-form")
        arn = f"arn:aws:s3:::{bucket}"
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, "s3:PutObject", f"{arn}/bob/*"),
            deny("*", "s3:PutObject", f"{arn}/*", {"StringLike": {"s3:x-amz-acl": "public*"}}),
            deny("*", "s3:PutObject", f"{arn}/*", {"StringNotEquals": {"s3:authType": "POST"}})))

        def post(key, acl):
            form = self.bob.generate_presigned_post(
                bucket, key, Fields={"acl": acl}, Conditions=[{"acl": acl}], ExpiresIn=300)
            return requests.post(form["url"], data=form["fields"],
                                 files={"file": ("f.txt", b"from a form")}, timeout=30)

        self.assertEqual(post("bob/private.txt", "private").status_code, 204)
        self.assertEqual(post("bob/loud.txt", "public-read").status_code, 403)
        self.assertEqual(post("elsewhere.txt", "private").status_code, 403)
        self.denied(self.bob.put_object, Bucket=bucket, Key="bob/put.txt", Body=b"x")
        self.assertEqual(self.bob.get_object(Bucket=bucket, Key="bob/private.txt")["Body"]
                         .read(), b"from a form")

    def test_explicit_deny_beats_acl_and_allow(self):
        bucket = self.bucket("pol-deny", ["k", "keep/x", "drop/y"])
        self.alice.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow("*", "s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]),
            deny({"AWS": "bob"}, "s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            deny("*", "s3:DeleteObject", f"arn:aws:s3:::{bucket}/keep/*")))
        self.denied(self.bob.list_objects_v2, Bucket=bucket)
        self.assertEqual(self.anon.list_objects_v2(Bucket=bucket)["KeyCount"], 3)
        self.denied(self.alice.delete_object, Bucket=bucket, Key="keep/x")
        # DeleteObjects is decided key by key.
        result = self.alice.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "keep/x"}, {"Key": "drop/y"}]})
        self.assertEqual([d["Key"] for d in result.get("Deleted", [])], ["drop/y"])
        self.assertEqual([(e["Key"], e["Code"]) for e in result["Errors"]],
                         [("keep/x", "AccessDenied")])
        self.assertEqual(self.alice.get_object(Bucket=bucket, Key="keep/x")["Body"].read(),
                         b"keep/x")

    def test_conditions_on_acl_prefix_source_ip_and_tags(self):
        bucket = self.bucket("pol-cond", ["public/p", "secret/s", "tagged", "untagged"])
        arn = f"arn:aws:s3:::{bucket}"
        self.alice.put_object_tagging(Bucket=bucket, Key="tagged", Tagging={
            "TagSet": [{"Key": "security", "Value": "public"}]})
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, "s3:ListBucket", arn,
                  {"StringLike": {"s3:prefix": "public/*"}}),
            allow({"AWS": "bob"}, "s3:PutObject", f"{arn}/*",
                  {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
            deny("*", "s3:PutObject", f"{arn}/*", {"StringLike": {"s3:x-amz-acl": "public*"}}),
            allow("*", "s3:GetObject", f"{arn}/*",
                  {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}),
            deny({"AWS": "bob"}, "s3:GetObject", f"{arn}/*",
                 {"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}})))
        listed = self.bob.list_objects_v2(Bucket=bucket, Prefix="public/")
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["public/p"])
        self.denied(self.bob.list_objects_v2, Bucket=bucket, Prefix="secret/")
        self.denied(self.bob.list_objects_v2, Bucket=bucket)  # no prefix: s3:prefix absent
        # HEAD of a missing key: 404 only where bob may list that prefix.
        status, _, _ = self.error(self.bob.head_object, Bucket=bucket, Key="public/none")
        self.assertEqual(status, 404)
        status, _, _ = self.error(self.bob.head_object, Bucket=bucket, Key="secret/none")
        self.assertEqual(status, 403)
        self.bob.put_object(Bucket=bucket, Key="from-bob", Body=b"b", ACL="private")
        self.denied(self.bob.put_object, Bucket=bucket, Key="loud", Body=b"b", ACL="public-read")
        self.denied(self.alice.put_object, Bucket=bucket, Key="loud", Body=b"b",
                    ACL="public-read-write")
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="tagged")["Body"].read(),
                         b"tagged")
        self.denied(self.anon.get_object, Bucket=bucket, Key="untagged")
        self.alice.put_object_tagging(Bucket=bucket, Key="tagged", Tagging={
            "TagSet": [{"Key": "security", "Value": "private"}]})
        self.denied(self.anon.get_object, Bucket=bucket, Key="tagged")

    def test_copy_source_needs_get_object_in_the_source_bucket_policy(self):
        source = self.bucket("pol-src", ["public/a", "private/b"])
        self.alice.put_bucket_policy(Bucket=source, Policy=policy(
            allow({"AWS": "bob"}, "s3:GetObject", f"arn:aws:s3:::{source}/public/*")))
        self.bob.create_bucket(Bucket="pol-bob-dest")
        self.bob.copy_object(Bucket="pol-bob-dest", Key="a",
                             CopySource={"Bucket": source, "Key": "public/a"})
        self.assertEqual(self.bob.get_object(Bucket="pol-bob-dest", Key="a")["Body"].read(),
                         b"public/a")
        self.denied(self.bob.copy_object, Bucket="pol-bob-dest", Key="b",
                    CopySource={"Bucket": source, "Key": "private/b"})
        # The destination's policy sees the copy's headers (s3:x-amz-copy-source).
        self.bob.put_bucket_policy(Bucket="pol-bob-dest", Policy=policy(deny(
            "*", "s3:PutObject", "arn:aws:s3:::pol-bob-dest/*",
            {"StringNotLike": {"s3:x-amz-copy-source": f"{source}/public/*"}})))
        self.bob.copy_object(Bucket="pol-bob-dest", Key="a2",
                             CopySource={"Bucket": source, "Key": "public/a"})
        self.denied(self.bob.put_object, Bucket="pol-bob-dest", Key="plain", Body=b"x")

    def versioned(self, name):
        """Alice's versioned bucket `name` with key "k" in two versions, b"one" then b"two";
        returns (bucket, its ARN, first version id, second version id)."""
        bucket = self.bucket(name)
        self.alice.put_bucket_versioning(Bucket=bucket,
                                         VersioningConfiguration={"Status": "Enabled"})
        v1 = self.alice.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
        v2 = self.alice.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
        return bucket, f"arn:aws:s3:::{bucket}", v1, v2

    def test_version_requests_are_authorized_as_the_version_actions(self):
        bucket, arn, v1, v2 = self.versioned("pol-versions")
        # Bob may read the latest object, its ACL and tags, and list; an older version only
        # with s3:GetObjectVersion, as on S3 (which GetObject alone never grants).
        reads = ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectTagging"]
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, reads + ["s3:ListBucket"], [arn, f"{arn}/*"]),
            deny("*", ["s3:DeleteObjectVersion", "s3:PutObjectVersionAcl",
                       "s3:PutObjectVersionTagging", "s3:DeleteObjectVersionTagging",
                       "s3:PutBucketVersioning"], [arn, f"{arn}/*"])))
        self.assertEqual(self.bob.get_object(Bucket=bucket, Key="k")["Body"].read(), b"two")
        self.bob.get_object_acl(Bucket=bucket, Key="k")
        self.bob.get_object_tagging(Bucket=bucket, Key="k")
        for version in (v1, v2):
            self.denied(self.bob.get_object, Bucket=bucket, Key="k", VersionId=version)
        status, _, _ = self.error(self.bob.head_object, Bucket=bucket, Key="k", VersionId=v1)
        self.assertEqual(status, 403)  # a HEAD answers no error body
        self.denied(self.bob.get_object_acl, Bucket=bucket, Key="k", VersionId=v1)
        self.denied(self.bob.get_object_tagging, Bucket=bucket, Key="k", VersionId=v1)
        self.denied(self.bob.list_object_versions, Bucket=bucket)  # s3:ListBucketVersions
        self.denied(self.bob.get_bucket_versioning, Bucket=bucket)
        # The Version actions with s3:versionid: v1 alone.
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, ["s3:GetObjectVersion", "s3:GetObjectVersionAcl",
                                   "s3:GetObjectVersionTagging"], f"{arn}/*",
                  {"StringEquals": {"s3:versionid": v1}}),
            allow({"AWS": "bob"}, ["s3:ListBucketVersions", "s3:GetBucketVersioning"], arn),
            deny("*", ["s3:DeleteObjectVersion", "s3:PutObjectVersionAcl",
                       "s3:PutObjectVersionTagging", "s3:DeleteObjectVersionTagging",
                       "s3:PutBucketVersioning"], [arn, f"{arn}/*"])))
        self.denied(self.bob.get_object, Bucket=bucket, Key="k")  # no s3:GetObject now
        self.assertEqual(self.bob.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"]
                         .read(), b"one")
        self.assertEqual(self.bob.head_object(Bucket=bucket, Key="k", VersionId=v1)
                         ["ContentLength"], 3)
        self.bob.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)
        self.bob.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
        self.denied(self.bob.get_object, Bucket=bucket, Key="k", VersionId=v2)
        listed = self.bob.list_object_versions(Bucket=bucket)
        self.assertEqual(sorted(v["VersionId"] for v in listed["Versions"]), sorted([v1, v2]))
        self.assertEqual(self.bob.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        # The Deny on the Version writes binds the owner; the same calls without a version id
        # are other actions and pass.
        self.denied(self.alice.delete_object, Bucket=bucket, Key="k", VersionId=v1)
        self.denied(self.alice.put_object_acl, Bucket=bucket, Key="k", VersionId=v1,
                    ACL="public-read")
        tags = {"TagSet": [{"Key": "t", "Value": "v"}]}
        self.denied(self.alice.put_object_tagging, Bucket=bucket, Key="k", VersionId=v1,
                    Tagging=tags)
        self.denied(self.alice.delete_object_tagging, Bucket=bucket, Key="k", VersionId=v1)
        self.denied(self.alice.put_bucket_versioning, Bucket=bucket,
                    VersioningConfiguration={"Status": "Suspended"})
        self.alice.put_object_acl(Bucket=bucket, Key="k", ACL="private")
        self.alice.put_object_tagging(Bucket=bucket, Key="k", Tagging=tags)
        self.alice.delete_object_tagging(Bucket=bucket, Key="k")
        # DeleteObjects: an entry with a VersionId is s3:DeleteObjectVersion.
        result = self.alice.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "k", "VersionId": v1}, {"Key": "k"}]})
        self.assertEqual([(e["Key"], e.get("VersionId"), e["Code"]) for e in result["Errors"]],
                         [("k", v1, "AccessDenied")])
        self.assertEqual([d["Key"] for d in result["Deleted"]], ["k"])  # a delete marker
        self.assertEqual(self.alice.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"]
                         .read(), b"one")

    def test_a_copy_of_a_version_is_authorized_as_that_version(self):
        source, arn, old, new = self.versioned("pol-copy-versions")
        self.bob.create_bucket(Bucket="pol-bob-copies")
        # s3:GetObject reaches the latest only: an older version wants s3:GetObjectVersion.
        self.alice.put_bucket_policy(Bucket=source, Policy=policy(
            allow({"AWS": "bob"}, "s3:GetObject", f"{arn}/*")))
        self.bob.copy_object(Bucket="pol-bob-copies", Key="latest",
                             CopySource={"Bucket": source, "Key": "k"})
        self.denied(self.bob.copy_object, Bucket="pol-bob-copies", Key="old",
                    CopySource={"Bucket": source, "Key": "k", "VersionId": old})
        self.alice.put_bucket_policy(Bucket=source, Policy=policy(
            allow({"AWS": "bob"}, "s3:GetObjectVersion", f"{arn}/*",
                  {"StringEquals": {"s3:versionid": old}})))
        copied = self.bob.copy_object(Bucket="pol-bob-copies", Key="old",
                                      CopySource={"Bucket": source, "Key": "k", "VersionId": old})
        self.assertEqual(copied["CopySourceVersionId"], old)
        self.assertEqual(self.bob.get_object(Bucket="pol-bob-copies", Key="old")["Body"].read(),
                         b"one")
        self.denied(self.bob.copy_object, Bucket="pol-bob-copies", Key="new",
                    CopySource={"Bucket": source, "Key": "k", "VersionId": new})
        # UploadPartCopy reads its source as CopyObject does.
        upload = self.bob.create_multipart_upload(Bucket="pol-bob-copies", Key="parts")
        part = {"Bucket": "pol-bob-copies", "Key": "parts", "UploadId": upload["UploadId"],
                "PartNumber": 1}
        self.bob.upload_part_copy(CopySource={"Bucket": source, "Key": "k", "VersionId": old},
                                  **part)
        self.denied(self.bob.upload_part_copy,
                    CopySource={"Bucket": source, "Key": "k", "VersionId": new}, **part)
        self.bob.abort_multipart_upload(Bucket="pol-bob-copies", Key="parts",
                                        UploadId=upload["UploadId"])
        # Without a policy the ACL of the version copied decides, not the latest's.
        self.alice.delete_bucket_policy(Bucket=source)
        self.alice.put_object_acl(Bucket=source, Key="k", VersionId=old, ACL="public-read")
        self.bob.copy_object(Bucket="pol-bob-copies", Key="old-by-acl",
                             CopySource={"Bucket": source, "Key": "k", "VersionId": old})
        self.denied(self.bob.copy_object, Bucket="pol-bob-copies", Key="new-by-acl",
                    CopySource={"Bucket": source, "Key": "k", "VersionId": new})
        self.alice.put_object_acl(Bucket=source, Key="k", ACL="public-read")  # the latest
        self.alice.put_object_acl(Bucket=source, Key="k", VersionId=old, ACL="private")
        self.denied(self.bob.copy_object, Bucket="pol-bob-copies", Key="old-by-acl",
                    CopySource={"Bucket": source, "Key": "k", "VersionId": old})
        self.bob.copy_object(Bucket="pol-bob-copies", Key="new-by-acl",
                             CopySource={"Bucket": source, "Key": "k", "VersionId": new})
        # A version's own ACL also decides a GET of it.
        self.assertEqual(self.bob.get_object(Bucket=source, Key="k", VersionId=new)["Body"]
                         .read(), b"two")
        self.denied(self.bob.get_object, Bucket=source, Key="k", VersionId=old)

    def test_every_s3_action_name_is_taken_and_unknown_ones_refused(self):
        bucket = self.bucket("pol-actions")
        arn = f"arn:aws:s3:::{bucket}"
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow({"AWS": "bob"}, ["s3:GetObjectVersionForReplication",
                                   "s3:GetObjectVersionAttributes", "s3:ReplicateObject",
                                   "s3:PutObjectVersionAcl", "s3:DeleteObjectVersionTagging",
                                   "s3:InitiateReplication", "s3:GetObjectAnnotation"],
                  f"{arn}/*"),
            allow({"AWS": "bob"}, ["s3:PutBucketOwnershipControls", "s3:GetBucketAbac",
                                   "s3:ListBucketVersions", "s3:TagResource",
                                   "s3:GetBucketMetadataTableConfiguration"], arn)))
        for action, message in [("s3:GetObjectVersions", "Policy has invalid action"),
                                ("s3:CreateJob",
                                 "Action does not apply to any resource(s) in statement"),
                                ("s3:ListAccessPoints",
                                 "Action does not apply to any resource(s) in statement")]:
            status, code, text = self.error(self.alice.put_bucket_policy, Bucket=bucket,
                                            Policy=policy(allow("*", action, [arn, f"{arn}/*"])))
            self.assertEqual((status, code, text), (400, "MalformedPolicy", message), action)

    def test_policy_changes_apply_at_once_beside_concurrent_requests(self):
        import threading
        from botocore.exceptions import ClientError
        bucket = self.bucket("pol-flips", ["k"])
        objects = f"arn:aws:s3:::{bucket}/*"
        everyone_reads = policy(allow("*", "s3:GetObject", objects))
        nobody_reads = policy(allow("*", "s3:GetObject", objects),
                              deny("*", "s3:GetObject", objects))
        stop = threading.Event()
        unexpected = []

        def read_all_along():
            client = self.s.unsigned()  # the policy decides: 200 or 403, nothing else
            while not stop.is_set():
                try:
                    client.get_object(Bucket=bucket, Key="k")["Body"].read()
                except ClientError as e:
                    if e.response["ResponseMetadata"]["HTTPStatusCode"] != 403:
                        unexpected.append(e.response)

        readers = [threading.Thread(target=read_all_along) for _ in range(3)]
        for reader in readers:
            reader.start()
        try:
            # Each change is in force for the first request made after it returned.
            for _ in range(5):
                self.alice.put_bucket_policy(Bucket=bucket, Policy=everyone_reads)
                self.assertEqual(self.anon.get_object(Bucket=bucket, Key="k")["Body"].read(),
                                 b"k")
                self.alice.put_bucket_policy(Bucket=bucket, Policy=nobody_reads)
                self.denied(self.anon.get_object, Bucket=bucket, Key="k")
                self.alice.put_bucket_policy(Bucket=bucket, Policy=everyone_reads)
                self.anon.get_object(Bucket=bucket, Key="k")
                self.alice.delete_bucket_policy(Bucket=bucket)
                self.denied(self.anon.get_object, Bucket=bucket, Key="k")
        finally:
            stop.set()
            for reader in readers:
                reader.join()
        self.assertEqual(unexpected, [])
        # A bucket deleted and made again (by another user) has no policy.
        self.alice.put_bucket_policy(Bucket=bucket, Policy=everyone_reads)
        self.anon.get_object(Bucket=bucket, Key="k")
        self.alice.delete_object(Bucket=bucket, Key="k")
        self.alice.delete_bucket(Bucket=bucket)
        self.bob.create_bucket(Bucket=bucket)
        self.bob.put_object(Bucket=bucket, Key="k", Body=b"bob's")
        self.denied(self.anon.get_object, Bucket=bucket, Key="k")
        self.denied(self.alice.get_object, Bucket=bucket, Key="k")

    def test_policy_status_and_a_bucket_made_again_starts_without_one(self):
        bucket = self.bucket("pol-status")
        self.assertFalse(self.alice.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
                         ["IsPublic"])
        arn = f"arn:aws:s3:::{bucket}"
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow("*", "s3:ListBucket", arn, {"IpAddress": {"aws:SourceIp": "10.0.0.0/32"}})))
        self.assertFalse(self.alice.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
                         ["IsPublic"])
        self.alice.put_bucket_policy(Bucket=bucket, Policy=policy(allow("*", "s3:ListBucket",
                                                                        arn)))
        self.assertTrue(self.alice.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
                        ["IsPublic"])
        self.denied(self.bob.get_bucket_policy_status, Bucket=bucket)
        self.alice.delete_bucket(Bucket=bucket)
        self.bob.create_bucket(Bucket=bucket)
        status, code, _ = self.error(self.bob.get_bucket_policy, Bucket=bucket)
        self.assertEqual(code, "NoSuchBucketPolicy")
        self.denied(self.alice.list_objects_v2, Bucket=bucket)


def public_bucket(client, bucket, body):
    """Makes `bucket` with object "k" (`body`) and a policy letting everyone GET its objects;
    returns the policy document."""
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="k", Body=body)
    document = policy(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    client.put_bucket_policy(Bucket=bucket, Policy=document)
    return document


class S3PolicyStoreTest(unittest.TestCase):
    def test_a_damaged_stored_policy_refuses_all_but_its_owners_repair(self):
        import glob
        first = AclServe()
        try:
            public_bucket(first.client_as("alice"), "pol-damaged", b"k")
        finally:
            first.stop_cleanly()
        # Damaged while serve is down (serve reads each policy once: it is the only writer of
        # its data folder while it runs).
        [stored] = glob.glob(os.path.join(first.data, "bucket-policies", "pol-damaged@*.json"))
        with open(stored, "w") as f:
            f.write("{ damaged")
        s = AclServe(data_dir=first.data)
        try:
            alice = s.client_as("alice")
            for client in (alice, s.unsigned()):
                status, code, _ = client_error(self, client.get_object, Bucket="pol-damaged",
                                               Key="k")
                self.assertEqual((status, code), (500, "InternalError"))
            self.assertEqual(alice.get_bucket_policy(Bucket="pol-damaged")["Policy"], "{ damaged")
            alice.delete_bucket_policy(Bucket="pol-damaged")
            self.assertEqual(alice.get_object(Bucket="pol-damaged", Key="k")["Body"].read(), b"k")
        finally:
            s.stop_cleanly()


class S3PolicyRestartTest(unittest.TestCase):
    def test_a_policy_survives_a_restart(self):
        first = AclServe()
        try:
            document = public_bucket(first.client_as("alice"), "pol-kept", b"kept")
        finally:
            first.stop_cleanly()
        second = AclServe(data_dir=first.data)
        try:
            self.assertEqual(second.client_as("alice").get_bucket_policy(Bucket="pol-kept")
                             ["Policy"], document)
            self.assertEqual(second.unsigned().get_object(Bucket="pol-kept", Key="k")["Body"]
                             .read(), b"kept")
        finally:
            second.stop_cleanly()


if __name__ == "__main__":
    unittest.main()
