"""deploy/aws/template.yaml: cfn-lint passes and the reference architecture's key settings hold."""
import os
import re
import subprocess
import tempfile
import unittest

import yaml

import harness

TEMPLATE = os.path.join(harness.ROOT, "deploy", "aws", "template.yaml")
# thumbflow's default [[notifications]] suffixes (README, Storage).
IMAGE_SUFFIXES = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif",
                  ".tif", ".tiff", ".jxl", ".svg"]


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, ...) as {"Fn::X": value}."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path=TEMPLATE):
    with open(path) as f:
        return yaml.load(f, Loader=_CfnLoader)


def cfn_lint(path):
    return subprocess.run(["cfn-lint", path], capture_output=True, text=True, timeout=120)


class DeployTemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = load_template()
        cls.res = cls.t["Resources"]
        cls.params = cls.t["Parameters"]

    def resources_of_type(self, type_name):
        return {k: v for k, v in self.res.items() if v["Type"] == type_name}

    def test_cfn_lint_passes(self):
        harness.require_tool("cfn-lint")
        r = cfn_lint(TEMPLATE)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_cfn_lint_rejects_the_bucket_policy_cycle(self):
        # The check above is only worth something if cfn-lint sees the cycle this template
        # avoids: the queue policy naming the bucket resource it must precede.
        harness.require_tool("cfn-lint")
        with open(TEMPLATE) as f:
            text = f.read()
        start = text.index("aws:SourceArn: !Sub")
        source_arn = text[start:text.index("StringEquals:", start)]
        broken = text.replace(source_arn, "aws:SourceArn: !GetAtt Bucket.Arn\n              ")
        self.assertNotEqual(broken, text)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "template.yaml")
            with open(path, "w") as f:
                f.write(broken)
            r = cfn_lint(path)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("ircular", r.stdout)

    def test_queues(self):
        queue = self.res["Queue"]["Properties"]
        dlq = self.res["DeadLetterQueue"]["Properties"]
        self.assertEqual(queue["RedrivePolicy"]["maxReceiveCount"], 3)
        self.assertEqual(queue["RedrivePolicy"]["deadLetterTargetArn"],
                         {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
        self.assertEqual(dlq["MessageRetentionPeriod"], 864000)  # 10 days

    def test_visibility_is_six_times_the_function_timeout(self):
        queue = self.res["Queue"]["Properties"]
        self.assertEqual(queue["VisibilityTimeout"],
                         {"Fn::FindInMap": ["VisibilityTimeout", {"Ref": "FunctionTimeout"},
                                            "Seconds"]})
        table = self.t["Mappings"]["VisibilityTimeout"]
        allowed = self.params["FunctionTimeout"]["AllowedValues"]
        self.assertEqual(sorted(int(k) for k in table), sorted(allowed))
        for timeout in allowed:
            self.assertEqual(table[str(timeout)]["Seconds"], 6 * timeout, timeout)
        self.assertEqual(table[str(self.params["FunctionTimeout"]["Default"])]["Seconds"], 60)
        fn = self.res["Function"]["Properties"]
        self.assertEqual(fn["Timeout"], {"Ref": "FunctionTimeout"})

    def test_bucket_notifies_the_queue_for_image_uploads_only(self):
        bucket = self.res["Bucket"]
        props = bucket["Properties"]
        self.assertEqual(props["VersioningConfiguration"]["Status"], "Enabled")
        configs = props["NotificationConfiguration"]["QueueConfigurations"]
        # Removals notify only with DeleteThumbnails: `!If [DeleteThumbnailsOn, config,
        # !Ref AWS::NoValue]` entries.
        removals = [c["Fn::If"] for c in configs if "Fn::If" in c]
        for condition, _, otherwise in removals:
            self.assertEqual(condition, "DeleteThumbnailsOn")
            self.assertEqual(otherwise, {"Ref": "AWS::NoValue"})
        by_event = {}
        for notification in [c for c in configs if "Fn::If" not in c] + [r[1] for r in removals]:
            self.assertEqual(notification["Queue"], {"Fn::GetAtt": ["Queue", "Arn"]})
            rules = {r["Name"]: r["Value"] for r in notification["Filter"]["S3Key"]["Rules"]}
            self.assertEqual(set(rules), {"prefix", "suffix"})
            self.assertEqual(rules["prefix"], {"Ref": "UploadPrefix"})
            by_event.setdefault(notification["Event"], []).append(rules["suffix"])
        self.assertEqual(set(by_event), {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"})
        self.assertEqual(len(removals), len(by_event["s3:ObjectRemoved:*"]))
        # The suffixes of thumbflow's default notification rule, in both cases (S3's filter
        # is case-sensitive, thumbflow's is not).
        for suffixes in by_event.values():
            self.assertCountEqual(suffixes, [v for s in IMAGE_SUFFIXES for v in (s, s.upper())])
        self.assertEqual(self.params["DeleteThumbnails"]["Default"], "false")
        self.assertEqual(self.params["UploadPrefix"]["Default"], "uploads/")
        self.assertEqual(bucket["DependsOn"], "QueuePolicy")

    def test_suffixes_match_the_embedded_default(self):
        # README's [[notifications]] default is what the embedded mode filters on.
        with open(os.path.join(harness.ROOT, "README.md")) as f:
            readme = f.read()
        block = readme[readme.index("suffixes = ["):]
        block = block[:block.index("]") + 1]
        self.assertCountEqual(re.findall(r'"(\.[a-z]+)"', block), IMAGE_SUFFIXES)

    def test_bucket_policy_denies_non_tls_and_lifecycle_expires_noncurrent(self):
        [statement] = self.res["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual(self.res["BucketPolicy"]["Properties"]["Bucket"], {"Ref": "Bucket"})
        self.assertEqual(statement["Effect"], "Deny")
        self.assertEqual(statement["Principal"], "*")
        self.assertEqual(statement["Action"], "s3:*")
        self.assertEqual(statement["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        self.assertCountEqual(statement["Resource"], [{"Fn::GetAtt": ["Bucket", "Arn"]},
                                                      {"Fn::Sub": "${Bucket.Arn}/*"}])
        [rule] = self.res["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        self.assertEqual(rule["Status"], "Enabled")
        self.assertEqual(rule["NoncurrentVersionExpiration"],
                         {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}})
        for queue in ("Queue", "DeadLetterQueue"):
            policies = [r for r in self.res.values() if r["Type"] == "AWS::SQS::QueuePolicy"
                        and r["Properties"]["Queues"] == [{"Ref": queue}]]
            self.assertEqual(len(policies), 1, queue)
            denies = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
                      if s["Effect"] == "Deny"]
            self.assertEqual([d["Condition"] for d in denies],
                             [{"Bool": {"aws:SecureTransport": "false"}}], queue)

    def test_queues_and_logs_survive_the_stack(self):
        for name in ("Queue", "DeadLetterQueue", "LogGroup", "Bucket"):
            self.assertEqual(self.res[name]["DeletionPolicy"], "Retain", name)
            self.assertEqual(self.res[name]["UpdateReplacePolicy"], "Retain", name)

    def test_alarms_to_the_topic(self):
        alarms = self.resources_of_type("AWS::CloudWatch::Alarm")
        by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
        dlq = by_metric["ApproximateNumberOfMessagesVisible"]
        self.assertEqual(dlq["Dimensions"],
                         [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}])
        self.assertEqual((dlq["Threshold"], dlq["ComparisonOperator"]),
                         (1, "GreaterThanOrEqualToThreshold"))
        age = by_metric["ApproximateAgeOfOldestMessage"]
        self.assertEqual(age["Dimensions"],
                         [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}])
        self.assertEqual(age["Threshold"], {"Ref": "MaxMessageAgeSeconds"})
        for alarm in (dlq, age):
            self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}])
        self.assertEqual(self.res["AlarmTopic"]["Type"], "AWS::SNS::Topic")
        self.assertEqual(self.res["AlarmEmailSubscription"]["Condition"], "HasAlarmEmail")

    def test_optional_kms_key(self):
        self.assertEqual(self.params["KmsKey"]["Default"], "false")
        self.assertEqual(self.res["Key"]["Condition"], "UseKms")
        self.assertTrue(self.res["Key"]["Properties"]["EnableKeyRotation"])
        key_arn = {"Fn::GetAtt": ["Key", "Arn"]}
        for name in ("Queue", "DeadLetterQueue"):
            self.assertEqual(self.res[name]["Properties"]["KmsMasterKeyId"],
                             {"Fn::If": ["UseKms", key_arn, {"Ref": "AWS::NoValue"}]}, name)
        self.assertEqual(self.res["AlarmTopic"]["Properties"]["KmsMasterKeyId"],
                         {"Fn::If": ["UseKms", key_arn, {"Ref": "AWS::NoValue"}]})
        [sse] = self.res["Bucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        condition, with_key, without = sse["Fn::If"]
        self.assertEqual(condition, "UseKms")
        self.assertEqual(with_key["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], key_arn)
        self.assertEqual(without["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")

    def test_deadlines_end_before_the_function_does(self):
        table = self.t["Mappings"]["VisibilityTimeout"]
        for timeout, row in table.items():
            budget_ms = int(timeout) * 1000 - 3000  # [lambda] deadline_margin_ms
            self.assertGreaterEqual(row["ImageTimeout"], 1, timeout)
            self.assertLessEqual(row["ImageTimeout"] * 1000, budget_ms, timeout)
            self.assertLessEqual(row["RequestTimeoutMs"], budget_ms / 2, timeout)
            self.assertLessEqual(row["ConnectTimeoutMs"], row["RequestTimeoutMs"], timeout)
        text, values = self.config_sub()
        self.assertIn("deadline_margin_ms = 3000", text)
        for name in ("ImageTimeout", "ConnectTimeoutMs", "RequestTimeoutMs"):
            self.assertEqual(values[name],
                             {"Fn::FindInMap": ["VisibilityTimeout", {"Ref": "FunctionTimeout"}, name]})

    def test_config_parses_with_thumbflow(self):
        # The document the function gets, with the defaults filled in, is a config thumbflow
        # accepts: the worker reads THUMBFLOW_CONFIG the way the Lambda runtime does, and
        # only complains about the missing queue once the config has been read.
        text, _ = self.config_sub()
        defaults = {k: str(v["Default"]) for k, v in self.params.items() if "Default" in v}
        row = self.t["Mappings"]["VisibilityTimeout"][defaults["FunctionTimeout"]]
        defaults.update({k: str(v) for k, v in row.items()})
        document = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], text)
        self.assertIn("timeout_s = 7\n", document)
        self.assertIn("delete_thumbnails = false\n", document)
        r = harness.run_thumbflow(["worker"], env={"THUMBFLOW_CONFIG": document}, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--queue-url is required", r.stderr)
        broken = harness.run_thumbflow(["worker"], env={"THUMBFLOW_CONFIG": document + "[limits]\n"},
                                       timeout=60)
        self.assertNotIn("--queue-url is required", broken.stderr)

    def config_sub(self):
        fn = self.res["Function"]["Properties"]
        text, values = fn["Environment"]["Variables"]["THUMBFLOW_CONFIG"]["Fn::Sub"]
        return text, values

    def test_only_the_bucket_may_send(self):
        policy = self.res["QueuePolicy"]["Properties"]
        [statement] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        self.assertEqual(statement["Principal"], {"Service": "s3.amazonaws.com"})
        self.assertEqual(statement["Action"], "sqs:SendMessage")
        condition = statement["Condition"]
        source_arn = condition["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
        bucket_name = self.res["Bucket"]["Properties"]["BucketName"]["Fn::Sub"]
        self.assertEqual(source_arn[0], "arn:${AWS::Partition}:s3:::" + bucket_name[0])
        self.assertEqual(source_arn[1], bucket_name[1])
        self.assertEqual(condition["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})

    def test_function_and_event_source(self):
        fn = self.res["Function"]["Properties"]
        self.assertEqual(fn["Runtime"], "provided.al2023")
        self.assertEqual(fn["Handler"], "bootstrap")
        self.assertTrue(fn["CodeUri"].endswith("thumbflow-lambda.zip"))
        self.assertEqual(fn["Architectures"], [{"Ref": "Architecture"}])
        self.assertIn("THUMBFLOW_CONFIG", fn["Environment"]["Variables"])
        [event] = fn["Events"].values()
        self.assertEqual(event["Type"], "SQS")
        self.assertEqual(event["Properties"]["Queue"], {"Fn::GetAtt": ["Queue", "Arn"]})
        self.assertEqual(event["Properties"]["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(event["Properties"]["BatchSize"], {"Ref": "BatchSize"})
        self.assertEqual(fn["LoggingConfig"]["LogGroup"], {"Ref": "LogGroup"})
        self.assertEqual(self.res["LogGroup"]["Properties"]["RetentionInDays"],
                         {"Ref": "LogRetentionDays"})

    def test_config_passes_sizes_and_prefixes(self):
        toml_text, _ = self.config_sub()
        for param in ("OutputPrefix", "UploadPrefix", "SmallWidth", "MediumWidth", "LargeWidth"):
            self.assertIn("${" + param + "}", toml_text)

    def test_least_privilege(self):
        [policy] = self.res["FunctionRole"]["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        granted = {}
        [kms] = [s for s in statements if "Fn::If" in s and s["Fn::If"][0] == "UseKms"]
        self.assertEqual(kms["Fn::If"][1]["Resource"], {"Fn::GetAtt": ["Key", "Arn"]})
        # Deleting thumbnails: only with DeleteThumbnails, only under the output prefix.
        [delete] = [s for s in statements if "Fn::If" in s and s["Fn::If"][0] != "UseKms"]
        self.assertEqual(delete["Fn::If"][0], "DeleteThumbnailsOn")
        self.assertEqual(delete["Fn::If"][1]["Action"], "s3:DeleteObject")
        self.assertEqual(delete["Fn::If"][1]["Resource"],
                         {"Fn::Sub": "${Bucket.Arn}/${OutputPrefix}*"})
        self.assertEqual(delete["Fn::If"][2], {"Ref": "AWS::NoValue"})
        statements = [s for s in statements if "Fn::If" not in s]
        for s in statements:
            self.assertEqual(s["Effect"], "Allow")
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            for action in actions:
                self.assertNotIn("*", action)
                granted.setdefault(action, []).append(s["Resource"])
        self.assertEqual(granted["s3:PutObject"], [{"Fn::Sub": "${Bucket.Arn}/${OutputPrefix}*"}])
        self.assertCountEqual(granted["s3:GetObject"],
                              [{"Fn::Sub": "${Bucket.Arn}/${UploadPrefix}*"},
                               {"Fn::Sub": "${Bucket.Arn}/${OutputPrefix}*"}])
        self.assertEqual(granted["s3:ListBucket"], [{"Fn::GetAtt": ["Bucket", "Arn"]}])
        [listing] = [s for s in statements if s["Action"] == "s3:ListBucket"]
        self.assertEqual(listing["Condition"],
                         {"StringLike": {"s3:prefix": {"Fn::Sub": "${UploadPrefix}*"}}})
        queue = {"Fn::GetAtt": ["Queue", "Arn"]}
        dlq = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ChangeMessageVisibility"):
            self.assertEqual(granted[action], [queue], action)
        self.assertEqual(granted["sqs:SendMessage"], [dlq])
        self.assertCountEqual(granted["sqs:GetQueueUrl"], [queue, dlq])
        self.assertEqual(granted["logs:PutLogEvents"], [{"Fn::GetAtt": ["LogGroup", "Arn"]}])
        self.assertNotIn("s3:DeleteObject", granted)


if __name__ == "__main__":
    unittest.main()
