#!/usr/bin/env python3
"""Makes the corpus files that are generated at test time rather than committed.

    python3 generate.py OUT_DIR      writes the whole corpus to OUT_DIR: a symbolic link to
                                     every committed file, and every generated one

A manifest entry with a "generate" object names a file that is too big to commit (the 48 MP
JPEG): it is made from a small committed corpus file with libvips' `thumbnail` operation,
    vips thumbnail FROM OUT<save> WIDTH --height HEIGHT --size up --crop centre
where `save` is the saver and its options (e.g. ".jpg[Q=82,strip]"). The C++ unit tests
(src/image/vips_thumbnailer_test.cc) make the same file with the same operation in process.
Needs the `vips` command (Debian package libvips-tools).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def manifest(root=HERE):
    with open(os.path.join(root, "manifest.json")) as f:
        return json.load(f)


def generate(entry, out_path, root=HERE):
    """Writes the generated file of `entry` to `out_path`; raises if vips fails."""
    g = entry["generate"]
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    # "save" is a saver suffix with options (".jpg[Q=82,strip]"); the CLI takes the options
    # after the output file's name, whose extension must be that suffix.
    suffix, bracket, options = g["save"].partition("[")
    if not out_path.endswith(suffix):
        raise ValueError(f"{out_path}: a generated {suffix} file needs that extension")
    argv = ["vips", "thumbnail", os.path.join(root, g["from"]), out_path + bracket + options,
            str(g["width"]), "--height", str(g["height"]), "--size", "up", "--crop", "centre"]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")


def materialize(out_dir, root=HERE):
    """Fills out_dir with the whole corpus (links to committed files + generated files)."""
    for entry in manifest(root):
        dest = os.path.join(out_dir, entry["file"])
        if os.path.lexists(dest):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if "generate" in entry:
            generate(entry, dest, root)
        else:
            os.symlink(os.path.join(root, entry["file"]), dest)
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py OUT_DIR")
    materialize(os.path.abspath(sys.argv[1]))
