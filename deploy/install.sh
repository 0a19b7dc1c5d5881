#!/usr/bin/env bash
# Installs (or upgrades) gate-edge on a Debian gate PC from a release bundle made by `npm run bundle`:
#
#   sudo ./install.sh gate-edge-0.1.0-linux-x64.tar.gz
#
# - a system user gate-edge in the dialout group (serial ports);
# - the release in /opt/gate-edge/releases/<version>, /opt/gate-edge/current pointing at it (the one before
#   is kept: `ln -sfn releases/<old> /opt/gate-edge/current && systemctl restart gate-edge` rolls back);
# - /usr/local/bin/gate-edge for technicians (gate-edge doctor, backup, restore);
# - /etc/gate-edge/gate.yaml (from the example, only if there is none) and /etc/gate-edge/env (the central
#   token; only if there is none), /var/lib/gate-edge for the database;
# - the systemd unit, enabled. An upgrade restarts a running service: the new release backs the database up
#   and migrates it at start, keeping every event central has not accepted.
#
# --root DIR installs under DIR instead of / and runs no useradd/chown/systemctl (a dry run for tests).
set -euo pipefail

usage() {
    echo "usage: $0 [--root DIR] BUNDLE.tar.gz" >&2
    exit 2
}

ROOT=""
BUNDLE=""
while (($# > 0)); do
    case "$1" in
    --root)
        ROOT="${2:?--root needs a directory}"
        shift 2
        ;;
    -h | --help) usage ;;
    *)
        BUNDLE="$1"
        shift
        ;;
    esac
done
[[ -n "$BUNDLE" && -f "$BUNDLE" ]] || usage

say() { echo "install: $*"; }
fail() {
    echo "install: $*" >&2
    exit 1
}
# Commands that change the system itself; printed instead under --root.
system() {
    if [[ -n "$ROOT" ]]; then
        say "(--root: skipped) $*"
    else
        "$@"
    fi
}

if [[ -z "$ROOT" && "$(id -u)" != 0 ]]; then fail "run as root (sudo $0 $BUNDLE)"; fi

# Node.js 20 or newer (Debian 12's own nodejs is 18: use Debian 13's, or NodeSource's node 20/22).
NODE="$(command -v node || true)"
[[ -n "$NODE" ]] || fail "node is not installed: install Node.js 20 or newer first"
NODE_MAJOR="$("$NODE" -p 'process.versions.node.split(".")[0]')"
((NODE_MAJOR >= 20)) || fail "node $("$NODE" --version) is too old: gate-edge needs Node.js 20 or newer"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$BUNDLE" -C "$WORK"
SRC="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
[[ -f "$SRC/BUNDLE.json" ]] || fail "$BUNDLE is not a gate-edge bundle (no BUNDLE.json)"
manifest() { "$NODE" -p "require('$SRC/BUNDLE.json').$1"; }
VERSION="$(manifest version)"
BUNDLE_ARCH="$(manifest arch)"
BUNDLE_ABI="$(manifest nodeAbi)"

# The native modules (better-sqlite3, serialport) are built for one CPU and one Node ABI.
case "$(uname -m)" in
x86_64) ARCH=x64 ;;
aarch64 | arm64) ARCH=arm64 ;;
armv7l) ARCH=arm ;;
*) ARCH="$(uname -m)" ;;
esac
[[ "$ARCH" == "$BUNDLE_ARCH" ]] ||
    fail "this bundle is for $BUNDLE_ARCH, this PC is $ARCH: make the bundle on a $ARCH machine (npm run bundle)"
[[ "$("$NODE" -p process.versions.modules)" == "$BUNDLE_ABI" ]] ||
    fail "this bundle was built for Node ABI $BUNDLE_ABI ($(manifest node)), this node is $("$NODE" --version): use the same Node.js major version"

OPT="$ROOT/opt/gate-edge"
RELEASE="$OPT/releases/$VERSION-$(date -u +%Y%m%dT%H%M%SZ)"
ETC="$ROOT/etc/gate-edge"
DATA="$ROOT/var/lib/gate-edge"
UNIT="$ROOT/etc/systemd/system/gate-edge.service"

if ! getent passwd gate-edge >/dev/null; then
    say "creating the system user gate-edge"
    system useradd --system --user-group --home-dir /var/lib/gate-edge --shell /usr/sbin/nologin gate-edge
fi
system usermod -aG dialout gate-edge

say "installing release $VERSION in $RELEASE"
mkdir -p "$OPT/releases"
cp -a "$SRC" "$RELEASE"
# The release works before the service starts: the native modules load on this node.
if ! (cd "$RELEASE" && "$NODE" -e 'require("better-sqlite3")(":memory:").close(); require("@serialport/bindings-cpp")'); then
    rm -rf "$RELEASE"
    fail "the bundle's native modules do not load on this PC (see above); the running release is unchanged"
fi
PREVIOUS="$(readlink "$OPT/current" 2>/dev/null || true)"
ln -sfn "releases/$(basename "$RELEASE")" "$OPT/current"
mkdir -p "$ROOT/usr/local/bin"
ln -sfn /opt/gate-edge/current/bin/gate-edge.js "$ROOT/usr/local/bin/gate-edge"

mkdir -p "$ETC" "$DATA"
install -m 0644 "$SRC/config/example.yaml" "$ETC/gate.yaml.example"
FRESH_CONFIG=0
if [[ ! -f "$ETC/gate.yaml" ]]; then
    FRESH_CONFIG=1
    # The example, with its database where the service keeps its data.
    sed -e 's#^\(    path:\) \./data/gate\.db#\1 /var/lib/gate-edge/gate.db#' "$SRC/config/example.yaml" >"$ETC/gate.yaml"
    chmod 0640 "$ETC/gate.yaml"
    say "wrote $ETC/gate.yaml from the example: edit it for this gate"
fi
if [[ ! -f "$ETC/env" ]]; then
    printf '%s\n' "# Environment of the gate-edge service (systemd EnvironmentFile). Secrets only here, never in gate.yaml." \
        "GATE_CENTRAL_TOKEN=" >"$ETC/env"
    chmod 0640 "$ETC/env"
    say "wrote $ETC/env: put the central token in it"
fi
system chown root:gate-edge "$ETC" "$ETC/gate.yaml" "$ETC/env"
system chmod 0750 "$ETC"
system chown gate-edge:gate-edge "$DATA"
chmod 0750 "$DATA"

mkdir -p "$(dirname "$UNIT")"
# The unit runs the node found here (NodeSource puts it in /usr/bin, a manual install elsewhere).
sed -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" "$SRC/deploy/gate-edge.service" >"$UNIT"
chmod 0644 "$UNIT"
system systemctl daemon-reload
system systemctl enable gate-edge.service

if [[ -n "$ROOT" ]]; then
    say "done (under $ROOT)"
elif systemctl is-active --quiet gate-edge.service; then
    say "upgrading the running gate: restart (the database is backed up and migrated at start)"
    systemctl restart gate-edge.service
    say "previous release: $PREVIOUS (roll back: ln -sfn $PREVIOUS $OPT/current && systemctl restart gate-edge)"
elif ((FRESH_CONFIG)); then
    say "next: edit $ETC/gate.yaml and $ETC/env, then: gate-edge doctor && systemctl start gate-edge"
else
    say "next: gate-edge doctor && systemctl start gate-edge"
fi
