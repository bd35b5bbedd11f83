#!/usr/bin/env bash
# Installs a board package (from board/build.sh) on a board and restarts the service.
#
#   board/deploy.sh [--adb] [--package FILE] [--keep-config] [HOST]
#
#   HOST           the board; default $DIGITD_HOST, else the vendor addresses are tried in turn:
#                  10.1.1.144 (Lockzhiner, Ethernet) and 172.32.0.93 (Luckfox, USB gadget)
#   --adb          use adb (Luckfox over USB) instead of ssh/scp
#   --package F    default target/board/digitd-uclibc.tar.gz
#   --keep-config  do not overwrite an existing /oem/usr/etc/digitd.toml on the board
#
# Installs: /oem/usr/bin/digitd, /oem/usr/share/digitd/*, /oem/usr/etc/digitd.toml,
# /etc/init.d/S99digitd; then runs `S99digitd restart` and shows its status.
# ssh uses your keys or asks for the root password (the vendor default is in their docs).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=ssh
package=target/board/digitd-uclibc.tar.gz
keep_config=0
host=${DIGITD_HOST:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --adb) mode=adb; shift ;;
        --package) package=$2; shift 2 ;;
        --keep-config) keep_config=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) host=$1; shift ;;
    esac
done
[ -f "$package" ] || { echo "deploy.sh: no package $package; run board/build.sh first" >&2; exit 1; }

ssh_opts=(-o ConnectTimeout=5 -o StrictHostKeyChecking=accept-new)
if [ "$mode" = ssh ] && [ -z "$host" ]; then
    for candidate in 10.1.1.144 172.32.0.93; do
        if ssh "${ssh_opts[@]}" -o BatchMode=yes "root@$candidate" true 2>/dev/null \
           || ping -c 1 -W 2 "$candidate" >/dev/null 2>&1; then
            host=$candidate
            break
        fi
    done
    [ -n "$host" ] || { echo "deploy.sh: no board answers at 10.1.1.144 or 172.32.0.93; give HOST" >&2; exit 1; }
fi

# The board side: unpack, install, restart. Runs under BusyBox sh.
remote_install=$(cat <<REMOTE
set -e
cd /tmp/digitd-deploy
mkdir -p /oem/usr/bin /oem/usr/share/digitd /oem/usr/etc /etc/init.d /userdata/digitd
tar -xzf pkg.tar.gz
[ -x /etc/init.d/S99digitd ] && /etc/init.d/S99digitd stop || true
cp bin/digitd /oem/usr/bin/digitd && chmod 755 /oem/usr/bin/digitd
cp -r share/digitd/* /oem/usr/share/digitd/
if [ "$keep_config" = 1 ] && [ -f /oem/usr/etc/digitd.toml ]; then
    echo "keeping the board's /oem/usr/etc/digitd.toml"
else
    cp etc/digitd.toml /oem/usr/etc/digitd.toml
fi
cp init.d/S99digitd /etc/init.d/S99digitd && chmod 755 /etc/init.d/S99digitd
cd / && rm -rf /tmp/digitd-deploy
/etc/init.d/S99digitd start
sleep 2
/etc/init.d/S99digitd status
REMOTE
)

case "$mode" in
    ssh)
        echo "deploying $package to root@$host over ssh"
        ssh "${ssh_opts[@]}" "root@$host" "rm -rf /tmp/digitd-deploy && mkdir -p /tmp/digitd-deploy"
        scp "${ssh_opts[@]}" "$package" "root@$host:/tmp/digitd-deploy/pkg.tar.gz"
        ssh "${ssh_opts[@]}" "root@$host" "$remote_install"
        ;;
    adb)
        echo "deploying $package over adb${host:+ to $host}"
        adb_cmd=(adb)
        if [ -n "$host" ]; then
            adb connect "$host" >/dev/null 2>&1 || true
            adb_cmd=(adb -s "$host:5555")
        fi
        "${adb_cmd[@]}" shell "rm -rf /tmp/digitd-deploy && mkdir -p /tmp/digitd-deploy"
        "${adb_cmd[@]}" push "$package" /tmp/digitd-deploy/pkg.tar.gz
        "${adb_cmd[@]}" shell "$remote_install"
        ;;
esac
echo "done: check the board with 'digitd selftest --classifier npu --config /oem/usr/etc/digitd.toml' and the log in /userdata/digitd/digitd.log"
