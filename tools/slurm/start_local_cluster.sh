#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine, to try profiles/slurm for real (laptop, CI).
#
#   sudo tools/slurm/start_local_cluster.sh          # start (idempotent: rerunning is harmless)
#   sudo tools/slurm/start_local_cluster.sh --stop   # stop the daemons this script started
#
# Needs root and Debian/Ubuntu's `slurm-wlm` and `munge` (apt-get install -y slurm-wlm munge);
# no systemd, cgroups or accounting database. It writes $SLURM_CONF (default
# /etc/slurm/slurm.conf) from tools/slurm/slurm.conf.in with this machine's hostname, CPU layout
# and 90 % of its memory, starts munged, slurmctld and slurmd, and waits (bounded) until the node
# is idle. It refuses to overwrite a slurm.conf it did not write.
#
# Environment (all optional):
#   NUFOG_SLURM_PARTITION  partition name (default "local"; it is the default partition)
#   NUFOG_SLURM_MINJOBAGE  seconds finished jobs stay visible to squeue (default 900)
#   NUFOG_SLURM_MEM_PCT    percentage of the machine's memory given to the node (default 90)
#   NUFOG_SLURM_WAIT       seconds to wait for each daemon and for the node (default 60)
#   NUFOG_SLURM_STATE      state, spool and log directory (default /var/lib/nufog-slurm)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
conf="${SLURM_CONF:-/etc/slurm/slurm.conf}"
partition="${NUFOG_SLURM_PARTITION:-local}"
min_job_age="${NUFOG_SLURM_MINJOBAGE:-900}"
mem_pct="${NUFOG_SLURM_MEM_PCT:-90}"
wait_s="${NUFOG_SLURM_WAIT:-60}"
state="${NUFOG_SLURM_STATE:-/var/lib/nufog-slurm}"
run=/run/nufog-slurm
marker="# Written by nufog tools/slurm/start_local_cluster.sh"

say() { echo "start_local_cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

# pid from a pid file if that process is alive and is the named program, else nothing.
live_pid() {  # pidfile program
    local pid
    [[ -r "$1" ]] || return 1
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2"* ]] || return 1
    echo "$pid"
}

# Stop one daemon by its pid file (SIGTERM, bounded wait, then SIGKILL).
stop_daemon() {  # pidfile program
    local pid i
    pid="$(live_pid "$1" "$2")" || return 0
    say "stopping $2 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
        sleep 0.5
    done
    say "$2 (pid $pid) ignored SIGTERM; killing it"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

# Poll a command until it succeeds, at most $wait_s seconds.
wait_for() {  # description command...
    local what="$1" i
    shift
    for ((i = 0; i < wait_s * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

munge_works() { { munge -n </dev/null | unmunge; } >/dev/null 2>&1; }
ctld_up() { scontrol ping 2>/dev/null | grep -q "is UP"; }

stop_cluster() {
    stop_daemon "$run/slurmd.pid" slurmd
    stop_daemon "$run/slurmctld.pid" slurmctld
    if [[ -e "$run/munged.ours" ]]; then
        stop_daemon /run/munge/munged.pid munged
        rm -f "$run/munged.ours"
    fi
}

[[ $EUID -eq 0 ]] || die "run as root (it writes $conf and starts system daemons)"
case "${1:-}" in
    --stop) stop_cluster; say "stopped"; exit 0 ;;
    "") ;;
    *) die "usage: $0 [--stop]" ;;
esac

for prog in munged munge slurmctld slurmd sinfo scontrol; do
    command -v "$prog" >/dev/null || die "$prog not found: apt-get install -y slurm-wlm munge"
done

# This machine's layout as slurmd sees it, with RealMemory scaled down to leave room for the OS.
host="$(hostname -s)"
hw="$(slurmd -C | head -n 1)"
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
cpus="$(field CPUs)"
mem_mb=$(($(field RealMemory) * mem_pct / 100))
[[ -n "$cpus" && "$mem_mb" -gt 0 ]] || die "cannot parse \`slurmd -C\`: $hw"

mkdir -p "$run" "$state/slurmctld" "$state/slurmd" "$state/log" "$(dirname "$conf")"
rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|" -e "s|@BOARDS@|$(field Boards)|" \
    -e "s|@SOCKETS@|$(field SocketsPerBoard)|" -e "s|@CORES@|$(field CoresPerSocket)|" \
    -e "s|@THREADS@|$(field ThreadsPerCore)|" -e "s|@MEM_MB@|$mem_mb|" \
    -e "s|@PARTITION@|$partition|" -e "s|@MINJOBAGE@|$min_job_age|" \
    -e "s|@STATE@|$state|g" -e "s|@LOG@|$state/log|g" -e "s|@RUN@|$run|g" \
    "$here/slurm.conf.in" >"$rendered"

changed=0
if [[ ! -e "$conf" ]]; then
    changed=1
elif ! head -n 1 "$conf" | grep -qF "$marker"; then
    die "$conf exists and was not written by this script; refusing to overwrite it (set SLURM_CONF)"
elif ! cmp -s "$rendered" "$conf"; then
    changed=1
fi
if ((changed)); then
    install -m 0644 "$rendered" "$conf"
    say "wrote $conf (node $host: $cpus CPUs, $mem_mb MB; partition $partition; MinJobAge $min_job_age s)"
    # Daemons running with an older config: restart them below.
    stop_daemon "$run/slurmd.pid" slurmd
    stop_daemon "$run/slurmctld.pid" slurmctld
fi
export SLURM_CONF="$conf"

# munge: one key shared by the daemons and the clients.
if ! munge_works; then
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    say "starting munged"
    runuser -u munge -- munged
    touch "$run/munged.ours"
    wait_for "munged" munge_works || die "munged did not answer within ${wait_s} s (see /var/log/munge/munged.log)"
fi

if ! live_pid "$run/slurmctld.pid" slurmctld >/dev/null; then
    say "starting slurmctld"
    slurmctld
fi
wait_for "slurmctld" ctld_up || die "slurmctld is not up after ${wait_s} s (see $state/log/slurmctld.log)"

if ! live_pid "$run/slurmd.pid" slurmd >/dev/null; then
    say "starting slurmd"
    slurmd
fi

node_state() { sinfo -h -N -n "$host" -o %T 2>/dev/null | head -n 1; }
node_ready() { [[ "$(node_state)" =~ ^(idle|mixed|allocated|completing)$ ]]; }
resumed=0
for ((i = 0; i < wait_s * 2; i++)); do
    node_ready && break
    # A node left down or drained by an earlier run comes back on request.
    if ((!resumed)) && [[ "$(node_state)" =~ ^(down|drained|draining) ]]; then
        scontrol update NodeName="$host" State=RESUME || true
        resumed=1
    fi
    sleep 0.5
done
node_ready || die "node $host is '$(node_state)' after ${wait_s} s (see $state/log/slurmd.log, scontrol show node)"
sinfo
say "cluster ready"
