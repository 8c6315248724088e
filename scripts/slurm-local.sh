#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (Debian's slurm-wlm + munge, as root) for the
# opt-in integration test of `replicate plan --emit slurm`:
#   bash scripts/slurm-local.sh && SLURM_CONF=/etc/slurm/slurm.conf REPLICATE_SLURM_TESTS=1 swift test --filter PlanTests
set -euo pipefail
dpkg -s slurm-wlm munge >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; }
host=$(hostname)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/log/munge /var/lib/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=replicate
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmUser=root
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
[ -f /etc/munge/munge.key ] || mungekey -c
chown -R munge: /run/munge /var/log/munge /var/lib/munge /etc/munge
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged
export SLURM_CONF=/etc/slurm/slurm.conf
pgrep -x slurmctld >/dev/null || (nohup slurmctld -D >/var/log/slurm/slurmctld.out 2>&1 &)
pgrep -x slurmd >/dev/null || (nohup slurmd -D >/var/log/slurm/slurmd.out 2>&1 &)
for _ in $(seq 20); do sinfo -h 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo
