#!/usr/bin/env bash
# Install the deposit kiosk on Raspberry Pi OS (Bookworm, 64-bit) or Debian 12.
# Run as root from a checkout of the repository:
#
#   sudo systemd/install.sh [--bundle ENROLLMENT_DIR] [--no-start]
#
# It installs the code in /opt/deposit-kiosk (set-up: Debian packages, .venv), creates
# the `kiosk` system user, installs the units, udev rules and tmpfiles, writes
# /etc/kiosk/kiosk.toml from the example when there is none (with the
# enrollment bundle's fragment when --bundle is given), and starts the services.
# Running it again upgrades in place; configuration and data are kept.
set -euo pipefail

bundle=""
start=1
while (($#)); do
  case $1 in
    --bundle) bundle=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install: unknown argument $1 (valid: --bundle DIR, --no-start)" >&2; exit 2 ;;
  esac
done

((EUID == 0)) || { echo "install: run as root (sudo $0)" >&2; exit 1; }
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=/opt/deposit-kiosk
say() { printf 'install: %s\n' "$*" >&2; }

say "packages for the display (cage compositor) and audio"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cage alsa-utils >/dev/null

if ! id kiosk >/dev/null 2>&1; then
  say "creating the system user kiosk"
  useradd --system --home-dir /var/lib/kiosk --shell /usr/sbin/nologin \
          --groups video,render,input,dialout,lp,audio kiosk
fi

say "installing the code in $dest"
mkdir -p "$dest"
# Copy the tracked files only (no .venv, no caches), then set up in place.
git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -cf -) | tar -C "$dest" -xf -
"$dest/bin/setup"

install -D -m 0644 "$src/systemd/kiosk.tmpfiles" /usr/lib/tmpfiles.d/kiosk.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/kiosk.conf

if [[ ! -f /etc/kiosk/kiosk.toml ]]; then
  say "writing /etc/kiosk/kiosk.toml from the example (edit it, then: kiosk config check)"
  install -m 0644 "$src/kiosk.example.toml" /etc/kiosk/kiosk.toml
fi
if [[ -n $bundle ]]; then
  say "installing the enrollment bundle from $bundle"
  cp -a "$bundle/." /var/lib/kiosk/enrollment/
  chown -R kiosk:kiosk /var/lib/kiosk/enrollment
  chmod -R go-rwx /var/lib/kiosk/enrollment
fi
"$dest/.venv/bin/kiosk" config check --config /etc/kiosk/kiosk.toml

install -m 0644 "$src/systemd/99-kiosk.rules" /etc/udev/rules.d/99-kiosk.rules
udevadm control --reload || true
udevadm trigger || true

install -m 0644 "$src/systemd/kiosk.service" "$src/systemd/kiosk-uploader.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable kiosk.service kiosk-uploader.service
systemctl set-default graphical.target
if ((start)); then
  systemctl restart kiosk-uploader.service kiosk.service
  say "started; follow with: journalctl -fu kiosk -u kiosk-uploader"
fi
