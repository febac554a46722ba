#!/usr/bin/env python3
"""Check an image corpus against its manifest.json with the libvips CLI.

    python3 verify_manifest.py [CORPUS_DIR]     (default: this file's directory)

Entries with a "generate" recipe (files too big to commit) are made first into a temporary
folder with generate.py, then checked like the others (their sha256 is the one libvips
8.14.1 on Debian 12 writes).

Needs python3 (stdlib only) and, for the decode checks, the Debian package
libvips-tools (vips, vipsheader); unzip and poppler-utils are used for the
polyglot checks when present. Exit status 0 = every entry behaves as the
manifest says. This checks the *corpus*, not your pipeline: it is the
reference behaviour of libvips 8.14 under the corpus rules (see README.md).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (beside this file)

ALLOWED = {'jpegload', 'pngload', 'webpload', 'gifload', 'tiffload', 'heifload', 'jxlload', 'svgload'}
MAX_PIXELS = 100_000_000
ENV = dict(os.environ, VIPS_WARNING='0', LC_ALL='C')


def run(*a):
    return subprocess.run(list(a), capture_output=True, text=True, env=ENV)


def field(p, f):
    r = run('vipsheader', '-f', f, p)
    return r.stdout.strip() if r.returncode == 0 else None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    manifest = json.load(open(os.path.join(root, 'manifest.json')))
    have_vips = shutil.which('vipsheader') is not None
    bad = 0
    scratch = tempfile.TemporaryDirectory(prefix='corpus-generated-')
    for e in manifest:
        p = os.path.join(root, e['file'])
        if 'generate' in e and not os.path.exists(p):
            p = os.path.join(scratch.name, e['file'])
            generate.generate(e, p, root)
        errs = []
        if not os.path.exists(p):
            errs.append('missing')
        else:
            if e.get('sha256') and hashlib.sha256(open(p, 'rb').read()).hexdigest() != e['sha256']:
                errs.append('sha256 mismatch')
            if have_vips:
                hdr_ok = run('vipsheader', p).returncode == 0
                loader = field(p, 'vips-loader')
                if e['expect'] == 'ok':
                    if not hdr_ok:
                        errs.append('vipsheader fails')
                    else:
                        w, h = int(field(p, 'width')), int(field(p, 'height'))
                        o = int(field(p, 'orientation') or 1)
                        ow, oh = (h, w) if o in (5, 6, 7, 8) else (w, h)
                        if (ow, oh) != (e['oriented_width'], e['oriented_height']):
                            errs.append('oriented size %dx%d != manifest %sx%s' % (ow, oh, e['oriented_width'], e['oriented_height']))
                        if loader not in ALLOWED:
                            errs.append('loader %s not allowed' % loader)
                        if run('vips', 'avg', p + '[fail_on=truncated]').returncode != 0:
                            errs.append('full decode fails')
                else:
                    r = e['reason']
                    strict = run('vips', 'avg', p + '[fail_on=truncated]').returncode == 0
                    if r == 'not-an-image' and hdr_ok:
                        errs.append('vipsheader unexpectedly succeeds')
                    elif r == 'corrupt' and hdr_ok and strict:
                        errs.append('decodes fine')
                    elif r == 'truncated' and strict:
                        errs.append('decodes fine with fail_on=truncated')
                    elif r == 'too-many-pixels':
                        w, h = int(field(p, 'width') or 0), int(field(p, 'height') or 0)
                        if w * h <= MAX_PIXELS:
                            errs.append('only %d pixels' % (w * h))
                    elif r == 'unsupported-format' and hdr_ok and loader in ALLOWED:
                        errs.append('loads as allowed format %s' % loader)
                    elif r == 'polyglot':
                        if not (hdr_ok and strict):
                            errs.append('image part does not decode')
                        if 'zip' in e['file'] and shutil.which('unzip') and run('unzip', '-t', p).returncode != 0:
                            errs.append('zip part invalid')
                        if 'pdf' in e['file'] and shutil.which('pdfinfo') and run('pdfinfo', p).returncode != 0:
                            errs.append('pdf part invalid')
        if errs:
            bad += 1
            print('FAIL %s: %s' % (e['file'], '; '.join(errs)))
    print('%d passed, %d failed' % (len(manifest) - bad, bad))
    if not have_vips:
        print('note: vipsheader not found, only existence/sha256 were checked')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
