#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying sweeps and for the Slurm integration tests.
#   scripts/slurm-local.sh start | stop | status
# Installs nothing: needs Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge) and root. Writes
# /etc/slurm/slurm.conf (the file the Slurm commands read) for a cluster of this host alone, with
# ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no cgroups needed, so it runs in containers), keeps
# state and logs in $FERNN_SLURM_DIR (default /var/tmp/fernn-slurm) and starts munged, slurmctld and slurmd.
set -euo pipefail
STATE="${FERNN_SLURM_DIR:-/var/tmp/fernn-slurm}"
CONF=/etc/slurm/slurm.conf
HOST="$(hostname -s)"

need() { command -v "$1" >/dev/null || { echo "slurm-local: $1 not found; apt-get install -y slurm-wlm munge" >&2; exit 2; }; }

pidof_file() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

start() {
  [ "$(id -u)" -eq 0 ] || { echo "slurm-local: run as root (the daemons run as root here)" >&2; exit 2; }
  need munged; need slurmctld; need slurmd; need sinfo
  mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log" /etc/slurm /run/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  if ! pgrep -x munged >/dev/null; then
    if id munge >/dev/null 2>&1; then
      runuser -u munge -- /usr/sbin/munged
    else
      /usr/sbin/munged --force
    fi
  fi
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
  cat > "$CONF" <<CONF
# written by fernn-lab scripts/slurm-local.sh: a one-node cluster on $HOST
ClusterName=fernn-local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=30
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
  pidof_file "$STATE/slurmctld.pid" >/dev/null || /usr/sbin/slurmctld
  pidof_file "$STATE/slurmd.pid" >/dev/null || /usr/sbin/slurmd
  for _ in $(seq 1 600); do
    if sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
      echo "slurm-local: up ($HOST, $cpus CPUs; state in $STATE)"
      return 0
    fi
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    sleep 0.2
  done
  echo "slurm-local: the node did not come up; see $STATE/log" >&2
  sinfo >&2 || true
  exit 1
}

stop() {
  for d in slurmd slurmctld; do
    local pid
    if pid="$(pidof_file "$STATE/$d.pid")"; then kill "$pid"; fi
  done
  echo "slurm-local: stopped (munged left running)"
}

status() { sinfo; squeue; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
