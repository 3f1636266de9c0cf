#!/usr/bin/env bash
# Install the deposit kiosk on Raspberry Pi OS (Bookworm, 64-bit) or Debian 12, from a
# checkout of the repository (a copy without .git does too):
#
#   sudo systemd/install.sh --bundle ENROLLMENT_DIR [--no-start] [--no-packages]
#   systemd/install.sh --root DIR --bundle ENROLLMENT_DIR        # into an image's tree
#
# What it does (docs/deploy.md has the whole story):
# - Debian packages the kiosk runs (below, each with its reason), with apt-get; with
#   --root it only checks them in DIR's dpkg database (or lists them), never apt-get.
# - A virtual environment in /opt/deposit-kiosk/venv from the lock, requirements/kiosk.txt
#   (pinned, hash-checked, wheels only), then the project itself, not editable: only the
#   packages of pyproject's [tool.setuptools.packages.find], so no tests, benchmarks or
#   development tools. Bytecode is compiled here, as the root may be read-only later.
# - The kiosk system user (sysusers.d), units, PAM service, hardware watchdog, udev
#   rules, tmpfiles; the units are enabled and the machine boots to graphical.target.
# - The enrollment bundle copied to /var/lib/kiosk/enrollment (0700, the kiosk user's),
#   and /etc/kiosk/kiosk.toml (from the example when absent, else kept) given the
#   bundle's kiosk id and code, data_dir and the bundle path by `kiosk config enroll`,
#   which keeps every other setting and comment; then `kiosk config check`.
# - Without --no-start (and without --root), the services are (re)started.
#
# Running it again upgrades in place: the new environment is built beside the old one
# and swapped in; configuration, outbox and bundle are kept (a --bundle replaces it).
#
# --root DIR builds the same tree under DIR, for an image: nothing outside DIR is
# touched, nothing is started. The environment is built under DIR but made for its
# final path: the scripts' shebangs and every other mention of DIR are rewritten to
# /opt/deposit-kiosk/venv and the bytecode is compiled with those paths. Run it on the
# image's architecture and Debian release (a Pi, or a chroot of the image), since the
# wheels and the venv's python link (/usr/bin/python3) must match the image.
# PYTHON=... picks the interpreter the venv is made from (default /usr/bin/python3).
set -euo pipefail

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }
root=""
bundle=""
start=1
packages=1
while (($#)); do
  case $1 in
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    --bundle) bundle=${2:?--bundle needs a folder}; shift 2 ;;
    --no-start) start=0; shift ;;
    --no-packages) packages=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install: unknown argument $1 (valid: --root DIR, --bundle DIR, --no-start," \
            "--no-packages)" >&2; exit 2 ;;
  esac
done

say() { printf 'install: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=/opt/deposit-kiosk            # where it runs (inside the image for --root)
if [[ -n $root ]]; then
  [[ -d $root ]] || die "--root $root is not a folder"
  root=$(cd "$root" && pwd)
  [[ $root != / ]] || root=""
  start=0
else
  ((EUID == 0)) || die "run as root (sudo $0), or build an image tree with --root DIR"
fi
if [[ -n $bundle ]]; then
  [[ -f $bundle/bundle.json ]] || die "$bundle: no enrollment bundle (no bundle.json); it is" \
                                      "the folder \`backoffice enroll --out\` wrote"
  bundle=$(cd "$bundle" && pwd)
elif [[ ! -f $root/var/lib/kiosk/enrollment/bundle.json ]]; then
  die "the first installation needs --bundle DIR (the folder \`backoffice enroll\` wrote)"
fi
python=${PYTHON:-/usr/bin/python3}
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
  || die "$python is not Python 3.11 (the lock is made for Debian 12's Python 3.11)"

# ------------------------------------------------------------------ Debian packages
# What the kiosk runs, and why (nothing for tests, benchmarks or the demo):
debs=(
  cage                  # the Wayland kiosk compositor kiosk.service runs
  xwayland              # Kivy's SDL2 has no Wayland driver: it is an X client of Xwayland
  libgl1 libglx-mesa0   # OpenGL through GLX: what Kivy's window (SDL2, x11) renders with
  libgl1-mesa-dri       # Mesa's drivers: v3d/vc4 on a Pi, llvmpipe without a GPU driver
  libegl1               # EGL: wlroots' renderer in cage (SDL2 uses it too if told to)
  # SDL2 (bundled in the Kivy wheel) loads the X11 client libraries at run time:
  libx11-6 libxext6     # required by its x11 video driver
  libxcursor1 libxfixes3 libxi6 libxrandr2 libxss1   # cursor, input, screen size, screensaver
  libmtdev1             # Kivy's multitouch input (mtdev provider) on the touchscreen
  libzbar0              # pyzbar, the fallback decoder of QR codes
  fonts-dejavu-core     # DejaVu Sans: the interface's font and the one the PDFs embed
  libasound2            # ALSA, through which SDL2_mixer plays the agent chime
  alsa-utils            # aplay plays speech (kiosk.audio); amixer sets the speaker's level;
                        # alsactl restores it at boot
  espeak-ng             # the kiosk reads its screens aloud (kiosk.speech, EN 301 549 5.1.3)
  libpam-systemd        # pam_systemd: the logind session cage's devices come from
  python3-venv          # the virtual environment (Debian's Python 3.11 and ensurepip)
)
py_minor=$("$python" -c 'import sys; print(f"python3.{sys.version_info[1]}")')

missing_debs() {       # the packages of $debs not installed under $1 (a root, or "")
  local admindir=$1/var/lib/dpkg pkg status
  for pkg in "${debs[@]}" "$py_minor"; do
    status=$(dpkg-query --admindir="$admindir" -W -f='${db:Status-Status}' "$pkg" \
             2>/dev/null || true)
    [[ $status == installed ]] || printf '%s\n' "$pkg"
  done
}

if [[ -n $root ]]; then
  if [[ -f $root/var/lib/dpkg/status ]]; then
    mapfile -t missing < <(missing_debs "$root")
    if ((${#missing[@]})); then
      msg="$root lacks Debian packages the kiosk needs: ${missing[*]} (in the image:"
      msg+=" apt-get install --no-install-recommends ${missing[*]})"
      if ((packages)); then die "$msg"; else say "$msg"; fi
    fi
    # The wheels and the venv's python link must suit the image.
    multiarch=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')
    [[ -d $root/usr/lib/$multiarch ]] \
      || die "$root is not a $multiarch system like this machine: run install.sh inside it"
  else
    say "no dpkg database in $root: the image must have these Debian packages:" \
        "${debs[*]} $py_minor"
  fi
elif ((packages)); then
  mapfile -t missing < <(missing_debs "")
  if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  mapfile -t missing < <(missing_debs "")
  ((${#missing[@]} == 0)) || say "not installed (--no-packages): ${missing[*]}"
fi

# ------------------------------------------------------------------ the kiosk user
install -D -m 0644 "$src/systemd/kiosk.sysusers" "$root/usr/lib/sysusers.d/kiosk.conf"
if [[ -z $root ]]; then
  systemd-sysusers /usr/lib/sysusers.d/kiosk.conf
elif [[ -f $root/etc/passwd ]]; then
  systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/kiosk.conf"
fi
kiosk_ids=""           # uid:gid of kiosk in the target, if it exists there
if [[ -z $root ]]; then
  kiosk_ids="$(id -u kiosk):$(id -g kiosk)"
elif [[ -f $root/etc/passwd ]]; then
  kiosk_ids=$(awk -F: '$1 == "kiosk" { print $3 ":" $4 }' "$root/etc/passwd")
fi

# ------------------------------------------------------------------ Python environment
# Built beside the running one (venv.new), made for its final path, then swapped in.
venv=$dest/venv
case $src/ in
  "$root$dest"/*) die "run install.sh from a checkout outside $dest" ;;
esac
stage=$root$dest/venv.new
say "building the Python environment (requirements/kiosk.txt) for $venv"
lock=$src/requirements/kiosk.txt
[[ -f $lock ]] || die "$lock is missing: it is made by bin/lock"
rm -rf "$stage"
mkdir -p "$root$dest"
"$python" -m venv "$stage"
# pip as the lock wants it, whatever this machine's pip configuration says (no
# configuration file, no PIP_* variables: see bin/setup); proxy variables still apply.
pip() {
  PIP_CONFIG_FILE=/dev/null "$stage/bin/python" -m pip --isolated --disable-pip-version-check \
    -q "$@"
}
# --no-compile: bytecode is compiled below, once the paths are final.
pip install --no-compile --require-hashes --only-binary :all: --no-deps -r "$lock"
# The project from a clean copy of its files (a build writes build/ and *.egg-info),
# by the locked setuptools (build isolation would fetch an unpinned one).
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -cf -) | tar -C "$build" -xf -
else
  tar -C "$src" --exclude=.git --exclude=.venv --exclude=build --exclude='*.egg-info' \
      --exclude=__pycache__ -cf - . | tar -C "$build" -xf -
fi
pip install --no-compile --no-deps --no-build-isolation "$build"
# Everything naming the staging folder (scripts' shebangs, activate scripts,
# pyvenv.cfg) now names the final one.
grep -rlIZ --fixed-strings "$stage" "$stage" | xargs -0 -r sed -i "s|$stage|$venv|g"
# Bytecode for everything in the environment (-f: also over what ensurepip compiled),
# recorded under its final path; checked against the sources' hash, not their time,
# so that copying the tree into an image cannot make it stale. Nothing is compiled at
# run time (PYTHONDONTWRITEBYTECODE=1 in the units).
site=$("$stage/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
"$stage/bin/python" -m compileall -f -q -j 0 --invalidation-mode checked-hash \
  -s "$stage" -p "$venv" "$site" >/dev/null
if grep -rl --fixed-strings "$stage" "$stage" >&2; then
  die "the files above still name $stage"
fi
# The staged environment's kiosk command (it runs where it is: its python is a link to
# the system's, and pyvenv.cfg sits beside it).
kiosk() { "$stage/bin/python" -I -B -m kiosk "$@"; }

# ------------------------------------------------------------------ bundle and configuration
# Checked and merged before anything is swapped in: a bundle that cannot be used, or a
# configuration that would not start, leaves the installed kiosk as it was.
state=$root/var/lib/kiosk
install -d -m 0755 "$root/etc/kiosk"
install -d -m 0700 "$state"
config=$root/etc/kiosk/kiosk.toml
if [[ ! -f $config ]]; then
  say "writing $config from the example"
  install -m 0644 "$src/kiosk.example.toml" "$config"
fi
if [[ -n $bundle ]]; then
  say "installing the enrollment bundle from $bundle"
  rm -rf "$state/enrollment.new"
  cp -R "$bundle" "$state/enrollment.new"
  chmod -R go-rwx "$state/enrollment.new"
  # The copy is checked, and merged into the configuration under the path it will have:
  # [kiosk] id and code from its bundle.json, data_dir, [upload] bundle.
  if ! kiosk config enroll --config "$config" --bundle "$state/enrollment.new" \
         --bundle-path-in-config /var/lib/kiosk/enrollment --data-dir /var/lib/kiosk; then
    rm -rf "$state/enrollment.new" "$stage"
    die "the installed kiosk was not changed"
  fi
fi
if ! kiosk config check --config "$config"; then
  rm -rf "$state/enrollment.new" "$stage"
  die "the installed kiosk was not changed: fix $config, then run install.sh again"
fi

# ------------------------------------------------------------------ swap in
if [[ -e $root$dest/.venv || -e $root$dest/pyproject.toml ]]; then
  # Earlier installs copied the whole checkout there, with a .venv of test tools.
  say "removing the previous layout of $root$dest (a checkout and its .venv)"
  find "$root$dest" -mindepth 1 -maxdepth 1 ! -name venv ! -name venv.new ! -name doc \
    -exec rm -rf {} +
fi
if [[ -d $root$venv ]]; then
  rm -rf "$root$venv.old"
  mv "$root$venv" "$root$venv.old"
fi
mv "$stage" "$root$venv"
rm -rf "$root$venv.old"
if [[ -n $bundle ]]; then
  rm -rf "$state/enrollment"
  mv "$state/enrollment.new" "$state/enrollment"
fi
for folder in enrollment kivy cache; do install -d -m 0700 "$state/$folder"; done
if [[ -n $kiosk_ids ]]; then
  chown -R "$kiosk_ids" "$state"
else
  say "no kiosk user in $root yet: $state stays root's until the first start, when" \
      "systemd hands it to kiosk (StateDirectory=)"
fi

# ------------------------------------------------------------------ system files
say "installing units, PAM service, watchdog, udev rules, tmpfiles and the guide"
install -D -m 0644 "$src/systemd/kiosk.tmpfiles" "$root/usr/lib/tmpfiles.d/kiosk.conf"
install -D -m 0644 -t "$root/etc/systemd/system" \
  "$src/systemd/kiosk.service" "$src/systemd/kiosk-uploader.service"
install -D -m 0644 "$src/systemd/kiosk-ui.pam" "$root/etc/pam.d/kiosk-ui"
install -D -m 0644 "$src/systemd/kiosk-watchdog.conf" \
  "$root/etc/systemd/system.conf.d/kiosk-watchdog.conf"
install -D -m 0644 "$src/systemd/99-kiosk.rules" "$root/etc/udev/rules.d/99-kiosk.rules"
# For the technician: this guide, and the example with every key explained.
install -D -m 0644 "$src/docs/deploy.md" "$root$dest/doc/deploy.md"
install -D -m 0644 "$src/kiosk.example.toml" "$root$dest/doc/kiosk.example.toml"

# ------------------------------------------------------------------ enable, start
if [[ -n $root ]]; then
  systemctl --root="$root" enable kiosk.service kiosk-uploader.service
  systemctl --root="$root" set-default graphical.target \
    || say "could not make graphical.target the default in $root: do it in the image"
  say "done: $root holds the kiosk (it starts when the image boots)"
  exit 0
fi
udevadm control --reload || true
udevadm trigger || true
systemd-tmpfiles --create /usr/lib/tmpfiles.d/kiosk.conf
systemctl daemon-reexec                  # the watchdog settings of system.conf.d
systemctl enable kiosk.service kiosk-uploader.service
systemctl set-default graphical.target
if ((start)); then
  systemctl restart kiosk-uploader.service kiosk.service
  say "started; follow with: journalctl -fu kiosk -u kiosk-uploader"
else
  say "installed; start with: systemctl start kiosk-uploader kiosk (or reboot)"
fi
