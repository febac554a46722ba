#!/usr/bin/env bash
# Builds the benchmark photo corpus (34 images, ~58 MB; bench/corpus/MANIFEST.md lists each
# file, its source, licence and recipe) from the Debian 12 wallpaper packages it comes from:
# `apt-get download` (no root needed, nothing installed), `dpkg-deb -x`, resize/re-encode
# with the vips CLI. The photos are not committed; the benchmarks build them when missing.
# Usage: bench/corpus/build.sh [--if-missing] [OUT_DIR]  (default bench/corpus/photos,
#   git-ignored). --if-missing: do nothing when OUT_DIR holds a complete build, or any files
#   this script did not build (the benchmarks call it so). A complete build leaves OUT_DIR/.complete.
# Needs: apt-get with Debian 12 sources, dpkg-deb, vips (libvips-tools), python3.
# Ends by checking every file against MANIFEST.md (size in pixels must match; byte counts are
# compared and differences reported, see "check" below).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if_missing=0
[[ ${1:-} == --if-missing ]] && { if_missing=1; shift; }
out=$(realpath -m "${1:-$here/photos}")
[[ $if_missing == 1 && -f $out/.complete ]] && exit 0
# A folder of photos that this script neither built nor started (no .complete, no .building)
# is someone's own corpus: use it as it is rather than overwrite it.
if [[ $if_missing == 1 && ! -f $out/.building && -n $(ls -A "$out" 2>/dev/null) ]]; then
  echo "build.sh: $out is not empty and was not built here; using it as it is" >&2
  exit 0
fi
for tool in apt-get dpkg-deb vips vipsheader python3; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing" >&2; exit 2; }
done
mkdir -p "$out"
rm -f "$out/.complete"
touch "$out/.building"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get run as root downloads as user _apt
export VIPS_WARNING=0

# The exact package versions MANIFEST.md was built from (Debian 12 "bookworm").
packages=(mate-backgrounds=1.26.0-1 plasma-workspace-wallpapers=4:5.27.5-2
          lomiri-wallpapers-16.04=20.04.0-2 lomiri-wallpapers-20.04=20.04.0-2
          desktop-base=12.0.6+nmu1~deb12u1 gnome-backgrounds=43.1-1)
echo "build.sh: downloading ${#packages[@]} packages (~160 MB) into $work" >&2
(cd "$work" && apt-get download -q "${packages[@]}" >/dev/null) || {
  echo "build.sh: apt-get download failed (are Debian 12 sources configured? try apt-get update)" >&2
  exit 1
}
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
rm -f "$work"/*.deb
share=$work/root/usr/share

# A packaged path under /usr/share; absolute symbolic links resolve inside the extraction.
src() {
  local p=$share/$1
  while [[ -L $p ]]; do
    local t
    t=$(readlink "$p")
    if [[ $t == /* ]]; then p=$work/root$t; else p=$(dirname "$p")/$t; fi
  done
  [[ -f $p ]] || { echo "build.sh: $1 not found in the packages" >&2; exit 1; }
  echo "$p"
}

# jpeg OUT SRC [WxH] MODE: Q90 stripped JPEG, MODE = "420" | "444" | "420p" (progressive);
# resized with lanczos3 to WxH when given (x and y scale each exact).
jpeg() {
  local name=$1 path size=$3 mode=$4 opts
  path=$(src "$2")
  case $mode in
    420) opts="Q=90,strip,subsample-mode=on" ;;
    444) opts="Q=90,strip,subsample-mode=off" ;;
    420p) opts="Q=90,strip,subsample-mode=on,interlace" ;;
  esac
  if [[ $size == native ]]; then
    vips copy "$path" "$out/$name[$opts]"
  else
    resize "$path" "$size" "$out/$name[$opts]"
  fi
}

resize() {
  local w=${2%x*} h=${2#*x} iw ih
  iw=$(vipsheader -f width "$1")
  ih=$(vipsheader -f height "$1")
  vips resize "$1" "$3" "$(python3 -c "print($w/$iw)")" --vscale "$(python3 -c "print($h/$ih)")" \
    --kernel lanczos3
}

# Adds a radial alpha mask: opaque centre, soft edge, transparent corners.
radial_alpha() {
  local in=$1 dest=$2 w h
  w=$(vipsheader -f width "$in")
  h=$(vipsheader -f height "$in")
  vips xyz "$work/xy.v" "$w" "$h"
  vips linear "$work/xy.v" "$work/d.v" "$(python3 -c "print(2/$w, 2/$h)")" " -1 -1"  # (a leading space: not an option)
  vips multiply "$work/d.v" "$work/d.v" "$work/d2.v"
  vips bandmean "$work/d2.v" "$work/m.v"          # (dx^2 + dy^2) / 2, 1 at the corners
  vips linear "$work/m.v" "$work/a.v" " -425" 425  # 255 inside r^2 < 0.4, 0 at the corners
  vips cast "$work/a.v" "$work/alpha.v" uchar
  vips bandjoin "$in $work/alpha.v" "$dest"
}

b=backgrounds
mn=$b/mate/nature
pw=wallpapers
jpeg j02_blinds.jpg $mn/Blinds.jpg native 420
jpeg j02_coldripple.jpg $pw/ColdRipple/contents/images/2560x1600.jpg 1789x1118 420
jpeg j02_colorfulcups.jpg $pw/ColorfulCups/contents/images/2560x1600.jpg 1789x1118 420
jpeg j02_dune.jpg $mn/Dune.jpg native 420
jpeg j02_fallenleaf.jpg $pw/FallenLeaf/contents/images/2560x1600.jpg 1789x1118 420p
jpeg j02_path.jpg $pw/Path/contents/images/2560x1600.jpg 1789x1118 420
jpeg j02_raindrops.jpg $mn/RainDrops.jpg native 420
jpeg j02_storm.jpg $mn/Storm.jpg native 420p
jpeg j12_aitzgorri.jpg $b/aitzgorri_by_Aitzol_Berasategi.jpg 4245x2826 420
jpeg j12_dragonfly.jpg $b/Dragonfly_by_Bolly.jpg 4000x3000 444
jpeg j12_free.jpg $b/free_by_Peter_Nerlich.jpg 4000x3000 420
jpeg j12_friends_portrait.jpg $b/friends_by_Aitzol_Berasategi.jpg 2827x4246 420
jpeg j12_greentock.jpg $b/greentock_by_Peter_Nerlich.jpg 4000x3000 420p
jpeg j12_kleiber.jpg $b/Kleiber_by_Lukas_Baubkus.jpg 4619x2598 420
jpeg j12_life.jpg $b/life_by_Aitzol_Berasategi.jpg 4245x2826 420p
jpeg j12_sunset.jpg $b/sunset_by_Aitzol_Berasategi.jpg 4243x2829 420
jpeg j24_bridge.jpg $b/Bridge_by_Sander_Klootwijk.jpg 6532x3674 444
jpeg j24_dragonfly.jpg $b/Dragonfly_by_Bolly.jpg 5657x4243 420
jpeg j24_elephants.jpg $b/mate/abstract/Elephants_5640x3172.jpg 6532x3674 420
jpeg j24_kleiber.jpg $b/Kleiber_by_Lukas_Baubkus.jpg 6532x3675 420
jpeg j24_picos.jpg $b/picosdeeuropa_by_Aitzol_Berasategi.jpg 5657x4243 420
jpeg j24_seeding.jpg $b/seeding_by_Clements_Engelhardt.jpg 6532x3674 420p
jpeg j24_sunset.jpg $b/sunset_by_Aitzol_Berasategi.jpg 6000x4000 420
jpeg j24_wine_portrait.jpg $b/Wine_by_Jakkub_Mede.jpg 4002x5998 420p

cp "$(src $b/mate/abstract/Arc-Colors-Transparent-Wallpaper.png)" "$out/p_arc_transparent_rgba.png"
cp "$(src $pw/Cascade/contents/images/3840x2160.png)" "$out/p_cascade_rgb_8mp.png"
cp "$(src plymouth/themes/emerald/logo+emerald.png)" "$out/p_emerald_logo_rgba.png"
cp "$(src $b/mate/abstract/Gulp.png)" "$out/p_gulp_rgba.png"
resize "$(src $pw/Kite/contents/images/2560x1600.jpg)" 1600x1000 "$work/kite.v"
radial_alpha "$work/kite.v" "$out/p_photo_kite_rgba.png"
resize "$(src $pw/OneStandsOut/contents/images/2560x1600.jpg)" 1280x800 \
  "$out/p_photo_onestandsout_rgb.png[compression=6]"
cp "$(src $b/gnome/adwaita-d.webp)" "$out/w_gnome_adwaita_16mp.webp"
resize "$(src $pw/BytheWater/contents/images/2560x1600.jpg)" 1792x1120 "$work/water.v"
radial_alpha "$work/water.v" "$out/w_photo_bythewater_rgba.webp[Q=80]"
resize "$(src $mn/LadyBird.jpg)" 1792x1120 "$out/w_photo_ladybird_2mp.webp[Q=80]"
resize "$(src $b/seeding_by_Clements_Engelhardt.jpg)" 4619x2598 "$out/w_photo_seeding_12mp.webp[Q=80]"
chmod a-x "$out"/*.* 2>/dev/null || true

# check: every MANIFEST.md row against the file built (pixel size must match exactly; the
# byte count of re-encoded files depends on the exact resize scale and mask used, so it is
# reported, not required).
python3 - "$here/MANIFEST.md" "$out" <<'PY'
import os, subprocess, sys
manifest, out = sys.argv[1], sys.argv[2]
rows = [l.split("|")[1:-1] for l in open(manifest) if l.startswith(("| j", "| p_", "| w_"))]
bad = same = 0
for r in rows:
    name, wh, want = r[0].strip(), r[1].strip(), int(r[3].strip().replace(",", ""))
    path = os.path.join(out, name)
    if not os.path.exists(path):
        print(f"MISSING {name}"); bad += 1; continue
    w = subprocess.run(["vipsheader", "-f", "width", path], capture_output=True, text=True).stdout.strip()
    h = subprocess.run(["vipsheader", "-f", "height", path], capture_output=True, text=True).stdout.strip()
    got = os.path.getsize(path)
    if f"{w}x{h}" != wh:
        print(f"SIZE {name}: {w}x{h}, MANIFEST says {wh}"); bad += 1
    elif got == want:
        same += 1
    else:
        print(f"bytes {name}: {got:,} (MANIFEST {want:,}, {100.0 * (got - want) / want:+.1f}%)")
print(f"build.sh: {len(rows)} files in {out}: {len(rows) - bad} of the MANIFEST's size, "
      f"{same} byte-for-byte the MANIFEST's byte count")
sys.exit(1 if bad or len(rows) != 34 else 0)
PY
touch "$out/.complete"
rm -f "$out/.building"
