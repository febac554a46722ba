"""The cloud mode's reference set-up, built with the aws CLI exactly as the README shows it,
against moto_server: a bucket whose uploads/ prefix notifies the `thumbnails` queue
(visibility 60 s), which dead-letters to `thumbnails-dlq` (10 days retention) after 3
receives.

What this pins down:
  - the README's set-up commands work as written;
  - what the notification delivers: first an s3:TestEvent, then one event per object under
    uploads/ and none for objects elsewhere (thumbnails/ must not re-trigger);
  - the shape of moto's event body that the golden literal in src/events/s3_event_test.cc
    copies (kMotoPutBody): key encoded with quote_plus ('/' as %2F, ' ' as '+'), eventTime
    without a zone, no userIdentity / sequencer. If moto changes, this fails and the golden
    must be recaptured;
  - the queue's RedrivePolicy moves a message to the DLQ after its third receive.
The C++ side (src/aws/sqs_moto_test.cc, ReferenceSetUpDeliversParsableEvents) builds the same
set-up and checks that events/ParseS3Event yields the exact bucket and key.
"""
import json
import os
import subprocess
import unittest
import urllib.parse

import harness

KEY = "uploads/my photo+1 %/\u00fcn\u00ef/x~(1).jpg"


def aws(env, endpoint, *args):
    """Runs one aws CLI command; returns its parsed JSON output (None when empty).

    --endpoint-url is passed explicitly: aws CLI v1 ignores AWS_ENDPOINT_URL.
    """
    proc = subprocess.run(["aws", "--output", "json", "--endpoint-url", endpoint, *args],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


class ReferenceSetUpTest(unittest.TestCase):
    def test_uploads_prefix_notifies_queue_with_dlq(self):
        harness.require_tool("aws")
        with harness.moto_server() as (endpoint, moto_env):
            env = dict(os.environ)
            env.update(moto_env)

            # --- the README's commands -------------------------------------------------
            dlq_url = aws(env, endpoint, "sqs", "create-queue", "--queue-name", "thumbnails-dlq",
                          "--attributes", "MessageRetentionPeriod=864000")["QueueUrl"]
            dlq_arn = aws(env, endpoint, "sqs", "get-queue-attributes", "--queue-url", dlq_url,
                          "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
            redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
            queue_url = aws(env, endpoint, "sqs", "create-queue", "--queue-name", "thumbnails",
                            "--attributes", json.dumps({"VisibilityTimeout": "60",
                                                        "RedrivePolicy": redrive}))["QueueUrl"]
            queue_arn = aws(env, endpoint, "sqs", "get-queue-attributes", "--queue-url", queue_url,
                            "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
            aws(env, endpoint, "s3api", "create-bucket", "--bucket", "images")
            aws(env, endpoint, "s3api", "put-bucket-notification-configuration", "--bucket", "images",
                "--notification-configuration", json.dumps({"QueueConfigurations": [{
                    "Id": "thumbnails", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix",
                                                        "Value": "uploads/"}]}}}]}))

            attributes = aws(env, endpoint, "sqs", "get-queue-attributes", "--queue-url", queue_url,
                             "--attribute-names", "All")["Attributes"]
            self.assertEqual(attributes["VisibilityTimeout"], "60")
            self.assertEqual(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"],
                             dlq_arn)
            self.assertEqual(int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]), 3)

            # --- what the notification delivers ----------------------------------------
            s3, sqs = harness.moto_clients(endpoint)
            s3.put_object(Bucket="images", Key=KEY, Body=b"hello")
            s3.put_object(Bucket="images", Key="thumbnails/small/x.jpg", Body=b"out")

            bodies = []
            for _ in range(5):
                got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                          VisibilityTimeout=0).get("Messages", [])
                if not got:
                    break
                for m in got:
                    bodies.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            self.assertEqual(len(bodies), 2, bodies)
            test_event = [b for b in bodies if b.get("Event") == "s3:TestEvent"]
            events = [b for b in bodies if "Records" in b]
            self.assertEqual(len(test_event), 1, bodies)
            self.assertEqual(test_event[0]["Bucket"], "images")
            self.assertEqual(len(events), 1, bodies)
            records = events[0]["Records"]
            self.assertEqual(len(records), 1)
            record = records[0]
            self.assertEqual(record["eventVersion"], "2.1")
            self.assertEqual(record["eventSource"], "aws:s3")
            self.assertEqual(record["eventName"], "ObjectCreated:Put")
            self.assertEqual(record["s3"]["bucket"]["name"], "images")
            self.assertEqual(record["s3"]["configurationId"], "thumbnails")
            # The shape the C++ golden literal (kMotoPutBody) relies on.
            encoded = record["s3"]["object"]["key"]
            self.assertEqual(encoded, "uploads%2Fmy+photo%2B1+%25%2F%C3%BCn%C3%AF%2Fx~%281%29.jpg")
            self.assertEqual(urllib.parse.unquote_plus(encoded), KEY)
            self.assertEqual(record["s3"]["object"]["size"], 5)
            self.assertNotIn("userIdentity", record)
            self.assertNotIn("sequencer", record["s3"]["object"])
            self.assertRegex(record["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

            # --- the DLQ after three receives ------------------------------------------
            sqs.send_message(QueueUrl=queue_url, MessageBody="poison")
            for i in range(1, 4):
                got = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0,
                                          MessageSystemAttributeNames=["All"])["Messages"]
                self.assertEqual(got[0]["Attributes"]["ApproximateReceiveCount"], str(i))
            self.assertEqual(sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)
                             .get("Messages", []), [])
            dead = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
            self.assertEqual([m["Body"] for m in dead], ["poison"])


if __name__ == "__main__":
    unittest.main()
