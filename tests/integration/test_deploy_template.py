"""deploy/aws/template.yaml: cfn-lint passes and the reference architecture's key settings hold."""
import os
import subprocess
import tempfile
import unittest

import yaml

import harness

TEMPLATE = os.path.join(harness.ROOT, "deploy", "aws", "template.yaml")


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
        source_arn = text[text.index("aws:SourceArn: !Sub"):text.index("StringEquals:")]
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

    def test_bucket_notifies_the_queue_for_uploads_only(self):
        bucket = self.res["Bucket"]
        props = bucket["Properties"]
        self.assertEqual(props["VersioningConfiguration"]["Status"], "Enabled")
        [notification] = props["NotificationConfiguration"]["QueueConfigurations"]
        self.assertEqual(notification["Queue"], {"Fn::GetAtt": ["Queue", "Arn"]})
        self.assertTrue(notification["Event"].startswith("s3:ObjectCreated:"))
        [rule] = notification["Filter"]["S3Key"]["Rules"]
        self.assertEqual(rule["Name"], "prefix")
        self.assertEqual(rule["Value"], {"Ref": "UploadPrefix"})
        self.assertEqual(self.params["UploadPrefix"]["Default"], "uploads/")
        self.assertEqual(bucket["DependsOn"], "QueuePolicy")

    def test_only_the_bucket_may_send(self):
        policy = self.res["QueuePolicy"]["Properties"]
        [statement] = policy["PolicyDocument"]["Statement"]
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
        fn = self.res["Function"]["Properties"]
        toml_text = fn["Environment"]["Variables"]["THUMBFLOW_CONFIG"]["Fn::Sub"]
        for param in ("OutputPrefix", "UploadPrefix", "SmallWidth", "MediumWidth", "LargeWidth"):
            self.assertIn("${" + param + "}", toml_text)

    def test_least_privilege(self):
        [policy] = self.res["FunctionRole"]["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        granted = {}
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
