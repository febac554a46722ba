"""scripts/build-image: the FROM-scratch container image runs thumbflow.

Containers cannot run on these machines (no cgroups for podman), so the test mounts the
built image (`podman image mount`) and runs its thumbflow with chroot, as the image's user
(10001), in a private mount namespace holding /proc and /dev/null (the parts a container
runtime adds). What this pins down:
  - podman builds the image with the vfs driver (a build failure fails the test, and so does
    a missing podman: it is how the Fargate stack's image is made);
  - `thumbflow --version` runs from the image's own libraries;
  - a real `thumbflow worker` from the image, configured by THUMBFLOW_CONFIG as the Fargate
    task is, turns a JPEG and a HEIC uploaded to moto_server into thumbnails (the HEIF
    module is in the image and loads), with CA certificates and /etc/passwd in place;
  - the health-check command of the Fargate task (busybox wget on /readyz) succeeds against
    the running worker, and SIGTERM drains it to exit 0.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

SCRIPT = os.path.join(harness.ROOT, "scripts", "build-image")
IMAGE = "localhost/thumbflow:test"
USER = "10001:10001"
SIZES = {"small": 50, "medium": 150, "large": 300}


def require(tool):
    # Not harness.require_tool: the image is a deliverable, so a machine that cannot build
    # or run it fails the test rather than skipping it.
    if shutil.which(tool) is None:
        raise AssertionError(f"{tool} is required (scripts/bootstrap installs it)")


class ContainerImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("podman", "unshare", "chroot", "vips"):
            require(tool)
        if os.geteuid() != 0:
            raise AssertionError("chroot into the image needs root (or CAP_SYS_CHROOT and "
                                 "CAP_SYS_ADMIN for the mount namespace)")
        cls.tmp = tempfile.mkdtemp(prefix="tf-image-")
        cls.store = os.path.join(cls.tmp, "store")
        started = time.monotonic()
        r = subprocess.run([SCRIPT, "--binary", harness.BIN, "--tag", IMAGE, "--store", cls.store],
                           capture_output=True, text=True, timeout=600)
        cls.build_s = time.monotonic() - started
        if r.returncode != 0:
            raise AssertionError(f"build-image failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        cls.build_log = r.stderr
        r = cls.podman("image", "mount", IMAGE)
        cls.rootfs = r.stdout.strip()
        assert os.path.isdir(cls.rootfs), r

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "rootfs", None):
            cls.podman("image", "unmount", IMAGE, check=False)
        # The store holds the image layers only (no mounts survive the namespaces).
        subprocess.run(["podman", "--storage-driver", "vfs", "--root", os.path.join(cls.store, "root"),
                        "--runroot", os.path.join(cls.store, "run"), "system", "reset", "--force"],
                       capture_output=True, timeout=300)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def podman(cls, *args, check=True):
        r = subprocess.run(["podman", "--storage-driver", "vfs",
                            "--root", os.path.join(cls.store, "root"),
                            "--runroot", os.path.join(cls.store, "run"), *args],
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed:\n{r.stderr}")
        return r

    def in_image(self, *argv):
        """argv for running `argv` inside the image root: a private mount namespace (the
        mounts go with the process), /proc and a /dev with null, then chroot as the image's
        user. The command keeps the PID, so signals reach thumbflow itself."""
        setup = ('mount -t proc proc "$0/proc" && mount -t tmpfs -o mode=755 tmpfs "$0/dev" && '
                 'mknod -m 666 "$0/dev/null" c 1 3 && exec chroot --userspec=' + USER + ' "$0" "$@"')
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", setup,
                self.rootfs, *argv]

    def test_image_layout(self):
        size = int(self.podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
        print(f"\nimage {IMAGE}: {size / 1e6:.1f} MB, built in {self.build_s:.0f} s", flush=True)
        config = self.podman("image", "inspect", "--format",
                             "{{.Config.User}} {{json .Config.Entrypoint}}", IMAGE).stdout.strip()
        self.assertEqual(config, USER + ' ["/usr/local/bin/thumbflow"]')
        for path in ("usr/local/bin/thumbflow", "etc/ssl/certs/ca-certificates.crt", "etc/passwd",
                     "bin/busybox"):
            self.assertTrue(os.path.isfile(os.path.join(self.rootfs, path)), path)
        with open(os.path.join(self.rootfs, "etc", "passwd")) as f:
            self.assertIn("thumbflow:x:10001:10001:", f.read())
        modules = os.path.join(self.rootfs, "usr", "lib", "x86_64-linux-gnu")
        if os.path.isdir(modules):
            names = [n for n in os.listdir(modules) if n.startswith("vips-modules-")]
            self.assertEqual(len(names), 1, names)
            self.assertCountEqual(os.listdir(os.path.join(modules, names[0])),
                                  ["vips-heif.so", "vips-jxl.so"])
        # Nothing of the build machine beyond what thumbflow loads: no shell, no package
        # manager, no other binaries.
        for absent in ("bin/sh", "usr/bin", "sbin", "var/lib/dpkg"):
            self.assertFalse(os.path.exists(os.path.join(self.rootfs, absent)), absent)

    def test_version_runs_from_the_image(self):
        r = subprocess.run(self.in_image("/usr/local/bin/thumbflow", "--version"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^thumbflow \d+\.\d+\.\d+")

    def test_worker_from_the_image_makes_thumbnails(self):
        images = os.path.join(self.tmp, "images")
        os.makedirs(images, exist_ok=True)
        jpeg = os.path.join(images, "photo.jpg")
        heic = os.path.join(images, "phone.heic")
        subprocess.run(["vips", "gaussnoise", jpeg, "640", "400"], check=True, timeout=60)
        subprocess.run(["vips", "copy", jpeg, heic + "[compression=hevc]"], check=True, timeout=60)

        with harness.moto_server() as (endpoint, env):
            s3, sqs = harness.moto_clients(endpoint)
            queue_url, _ = harness.set_up_reference(s3, sqs)
            s3.upload_file(jpeg, "images", "uploads/2026/photo.jpg")
            s3.upload_file(heic, "images", "uploads/2026/phone.heic")

            port = harness.free_port()
            # What the Fargate stack puts in THUMBFLOW_CONFIG (deploy/cdk/lib/worker-stack.ts).
            config = ('[output]\nprefix = "thumbnails/"\nupload_prefix = "uploads/"\n' +
                      "".join(f'\n[[thumbnails.sizes]]\nname = "{n}"\nwidth = {w}\n'
                              for n, w in SIZES.items()) +
                      "\n[pipeline]\nvisibility_timeout = 60\ngrace_period = 5\n")
            worker_env = {"THUMBFLOW_CONFIG": config, **env}
            worker = harness.Peer(self.in_image("/usr/local/bin/thumbflow", "worker",
                                                "--queue-url", queue_url, "--workers", "2",
                                                "--metrics-listen", f"127.0.0.1:{port}"),
                                  env=worker_env, name="image-worker")
            try:
                worker.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
                # The Fargate task's health check, run from the image.
                probe = subprocess.run(
                    self.in_image("/bin/busybox", "wget", "-q", "-O", "/dev/null",
                                  f"http://127.0.0.1:{port}/readyz"),
                    capture_output=True, text=True, timeout=60)
                self.assertEqual(probe.returncode, 0, probe.stderr)
                expected = {f"thumbnails/{size}/2026/{name}" for size in SIZES
                            for name in ("photo.jpg", "phone.heic.jpg")}

                def listed():
                    page = s3.list_objects_v2(Bucket="images", Prefix="thumbnails/")
                    return {o["Key"] for o in page.get("Contents", [])}

                deadline = time.monotonic() + 120
                while listed() != expected and time.monotonic() < deadline:
                    if worker.proc.poll() is not None:
                        break
                    time.sleep(0.2)
                self.assertEqual(listed(), expected, worker.log())
                for key in expected:
                    head = s3.head_object(Bucket="images", Key=key)
                    self.assertEqual(head["ContentType"], "image/jpeg", key)
                    self.assertEqual(int(head["Metadata"]["width"]), SIZES[key.split("/")[1]], key)
            finally:
                code = worker.stop(timeout=30)
            self.assertEqual(code, 0, worker.log())


if __name__ == "__main__":
    unittest.main()
