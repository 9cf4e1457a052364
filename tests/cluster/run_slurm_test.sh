#!/usr/bin/env bash
# Cluster test: the workflow on a real SLURM (issue "Running on a SLURM cluster, tested
# against a real SLURM").
#
#  1. installs Debian's SLURM and MUNGE with apt-get when they are missing (and the project's
#     `slurm` extra when snakemake-executor-plugin-slurm is missing from the venv);
#  2. starts a private single-node cluster: munged, slurmctld and slurmd on 127.0.0.1, with
#     key, socket, configuration, state and logs in a temp dir and free ports, so it never
#     touches a SLURM or MUNGE already on the machine;
#  3. runs the workflow on a 4-participant demo with workflow/profiles/slurm in its own
#     working directory (the repository's results/ is not touched) and checks that every
#     non-local job went through sbatch, completed, got the resources of the profiles and
#     ran the venv's Python;
#  4. runs the same config locally in another directory and checks that every results table
#     (and the simulated dataset) is byte-identical;
#  5. stops the daemons it started, by PID, also on failure or interruption.
#
# Usage: tests/cluster/run_slurm_test.sh [--require] [--keep]
#   --require  fail instead of skipping when this machine cannot run SLURM (not Linux, not
#              root, no apt-get); also SLURM_TEST_REQUIRED=1
#   --keep     keep the temp dir (always kept on failure); also SLURM_TEST_KEEP=1
# Environment: SLURM_TEST_PARTICIPANTS (default 4), SLURM_TEST_TIMEOUT (seconds per
# workflow run, default 1200), FMRS_VENV (default: the repository's .venv).
# Exit status: 0 passed (or skipped, with a SKIPPED banner), 1 failed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/tests/cluster
VENV=${FMRS_VENV:-$REPO/.venv}
PARTICIPANTS=${SLURM_TEST_PARTICIPANTS:-4}
RUN_TIMEOUT=${SLURM_TEST_TIMEOUT:-1200}
REQUIRED=${SLURM_TEST_REQUIRED:-0}
KEEP=${SLURM_TEST_KEEP:-0}
# The profile's partition is deliberately not the cluster's default partition, so that a job
# landing in it proves the profile's slurm_partition reached sbatch.
PARTITION=fmrstest
ACCOUNT=fmrstest
PATH=$PATH:/usr/sbin:/sbin
START=$SECONDS

for arg in "$@"; do
    case $arg in
        --require) REQUIRED=1 ;;
        --keep) KEEP=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n=== [%4ds] %s ===\n' "$((SECONDS - START))" "$*"; }
info() { printf '  %s\n' "$*"; }
fail() {
    printf '\nSLURM TEST FAILED after %ds: %s\n' "$((SECONDS - START))" "$*" >&2
    exit 1
}
skip() {
    [[ $REQUIRED == 1 ]] && fail "this machine cannot run SLURM: $* (--require given)"
    printf '\n*** SLURM TEST SKIPPED: %s ***\n' "$*"
    printf '*** (the workflow was NOT tested on SLURM; --require turns this into a failure) ***\n'
    exit 0
}

# --- can this machine run it? ---------------------------------------------------------------
[[ $(uname -s) == Linux ]] || skip "not Linux ($(uname -s))"
[[ $EUID -eq 0 ]] || skip "needs root (installs packages, runs slurmd and munged as system users)"
for tool in timeout setpriv; do
    command -v "$tool" >/dev/null || skip "'$tool' is not available"
done
[[ -x $VENV/bin/snakemake ]] || fail "no snakemake in $VENV: install the project first (README)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fmrstrial-slurm.XXXXXX")
chmod 755 "$TMP"
PIDS=() # "name:pid" of every daemon started here, stopped in reverse order
RUNNING="" # "snakemake:pid" of the workflow run in progress
ECHOING="" # pid of the `tail -f` that echoes its log

stop_pid() { # name:pid [group]: SIGTERM, then SIGKILL after 10 s (the whole process group
    # led by pid if "group": the workflow run is `timeout`, which leads its own group)
    local name=${1%%:*} pid=${1##*:} target=${1##*:} i
    [[ ${2:-} == group ]] && target=-$pid
    kill -0 "$pid" 2>/dev/null || { info "$name ($pid) already stopped"; return 0; }
    kill -TERM -- "$target" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || { info "stopped $name ($pid)"; return 0; }
        sleep 0.2
    done
    kill -KILL -- "$target" 2>/dev/null || true
    info "killed $name ($pid) after 10 s"
}

cleanup() {
    local rc=$? i ids=()
    trap - EXIT INT TERM
    set +e
    if [[ -n $RUNNING ]]; then
        say "stopping the workflow run"
        stop_pid "$RUNNING" group
        [[ -n $ECHOING ]] && wait "$ECHOING" # tail --pid ends within a second
    fi
    if ((${#PIDS[@]})); then
        say "stopping the test cluster"
        # jobs still queued or running (failure or timeout); only ever this private cluster's
        [[ ${SLURM_CONF:-} == "$TMP/slurm/slurm.conf" ]] &&
            mapfile -t ids < <(squeue --noheader --states=PD,R,CG,S --format=%i 2>/dev/null)
        if ((${#ids[@]})); then
            info "cancelling leftover jobs: ${ids[*]}"
            scancel "${ids[@]}"
            for ((i = 0; i < 30; i++)); do
                [[ -z $(squeue --noheader --states=R,CG --format=%i 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    fi
    if [[ $rc -ne 0 || $KEEP == 1 ]]; then
        info "kept $TMP (logs: slurm/*.log, run-*.log, run-slurm/.snakemake/slurm_logs/)"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_cluster_logs() {
    local f
    for f in "$TMP"/munge/munged.log "$TMP"/slurm/slurmctld.log "$TMP"/slurm/slurmd.log; do
        [[ -s $f ]] || continue
        printf -- '--- last lines of %s\n' "$f"
        tail -n 25 "$f"
    done
}

wait_for() { # seconds what daemon-entry command...
    local limit=$1 what=$2 entry=$3 i
    shift 3
    for ((i = 0; i < limit * 5; i++)); do
        "$@" >/dev/null 2>&1 && { info "$what ready"; return 0; }
        kill -0 "${entry##*:}" 2>/dev/null || { show_cluster_logs; fail "${entry%%:*} exited"; }
        sleep 0.2
    done
    show_cluster_logs
    fail "$what not ready after ${limit}s"
}

# --- 1. software ----------------------------------------------------------------------------
say "software"
need=(munged munge unmunge slurmctld slurmd sbatch srun squeue scontrol scancel sinfo)
missing=()
for tool in "${need[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null ||
        skip "SLURM/MUNGE missing (${missing[*]}) and apt-get is not available to install them"
    info "installing slurmctld slurmd slurm-client munge with apt-get (missing: ${missing[*]})"
    if ! (export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq &&
            apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge
    ) >"$TMP/apt.log" 2>&1; then
        tail -n 20 "$TMP/apt.log"
        skip "apt-get could not install SLURM (output above)"
    fi
    for tool in "${need[@]}"; do command -v "$tool" >/dev/null || fail "apt-get did not install $tool"; done
fi
id munge >/dev/null 2>&1 || fail "no 'munge' system user (the munge package creates it)"
if ! "$VENV/bin/python" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null; then
    info "installing the project's 'slurm' extra into $VENV"
    "$VENV/bin/pip" install -q -c "$REPO/constraints.txt" -e "${REPO}[slurm]"
fi
info "$(slurmctld -V), munge $(munged -V 2>&1 | awk '{print $1}' | sed 's/munge-//'), snakemake $("$VENV/bin/snakemake" --version)," \
    "snakemake-executor-plugin-slurm $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("snakemake-executor-plugin-slurm"))')"

# Both runs use one copy of the working tree taken now (tracked and untracked, not ignored
# files), so that edits made in the clone while the test runs cannot make them differ.
SRC=$TMP/src
mkdir "$SRC"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do if [[ -e $REPO/$f ]]; then printf '%s\0' "$f"; fi; done |
        (cd "$REPO" && xargs -0 cp -a --parents -t "$SRC")
    info "workflow snapshot: $(git -C "$REPO" describe --always --dirty) ($(find "$SRC" -type f | wc -l) files) in $SRC"
else
    cp -a "$REPO/Snakefile" "$REPO/config" "$REPO/envs" "$REPO/workflow" "$SRC/"
    info "workflow snapshot (no git): Snakefile config envs workflow in $SRC"
fi
[[ -f $SRC/Snakefile && -f $SRC/workflow/profiles/slurm/config.yaml ]] || fail "incomplete snapshot in $SRC"

# --- 2. private single-node cluster ---------------------------------------------------------
say "starting a single-node SLURM on 127.0.0.1 in $TMP"
MUNGE=$TMP/munge
SOCKET=$MUNGE/munge.socket
mkdir -m 711 "$MUNGE"
dd if=/dev/urandom of="$MUNGE/munge.key" bs=1024 count=1 status=none
chmod 400 "$MUNGE/munge.key"
chown -R munge:munge "$MUNGE"
setpriv --reuid=munge --regid=munge --init-groups \
    munged --foreground --key-file="$MUNGE/munge.key" --socket="$SOCKET" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" \
    >"$MUNGE/munged.out" 2>&1 &
PIDS+=("munged:$!")
munge_ok() { munge -n -S "$SOCKET" | unmunge -S "$SOCKET"; }
wait_for 15 "munged (pid $!, socket $SOCKET)" "${PIDS[-1]}" munge_ok

read -r NODE CPUS MEMORY < <(slurmd -C | awk '/^NodeName=/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["NodeName"], v["CPUs"], v["RealMemory"] }')
[[ -n ${MEMORY:-} ]] || fail "could not read the node's CPUs and memory from 'slurmd -C'"
read -r CTLD_PORT SLURMD_PORT < <("$VENV/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

SLURM=$TMP/slurm
mkdir -p "$SLURM/state" "$SLURM/spool"
export SLURM_CONF=$SLURM/slurm.conf
cat >"$SLURM_CONF" <<EOF
# written by tests/cluster/run_slurm_test.sh: one node, localhost only, no accounting
ClusterName=fmrstrial-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$SLURM/state
SlurmdSpoolDir=$SLURM/spool
SlurmctldPidFile=$SLURM/slurmctld.pid
SlurmdPidFile=$SLURM/slurmd.pid
SlurmctldLogFile=$SLURM/slurmctld.log
SlurmdLogFile=$SLURM/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
# finished jobs stay visible to squeue (the status command here) for an hour
MinJobAge=3600
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=$PARTITION Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
info "node $NODE: $CPUS CPUs, $MEMORY MB; slurmctld port $CTLD_PORT, slurmd port $SLURMD_PORT"
slurmctld -D -f "$SLURM_CONF" >"$SLURM/slurmctld.out" 2>&1 &
PIDS+=("slurmctld:$!")
wait_for 30 "slurmctld (pid $!)" "${PIDS[-1]}" bash -c 'scontrol ping | grep -q "is UP"'
slurmd -D -f "$SLURM_CONF" >"$SLURM/slurmd.out" 2>&1 &
PIDS+=("slurmd:$!")
wait_for 30 "slurmd (pid $!)" "${PIDS[-1]}" bash -c "sinfo --noheader --nodes=$NODE --format=%t | grep -qx idle"
sinfo

# The slurm-jobstep plugin strips SLURM_* variables, SLURM_CONF included, before the srun it
# runs inside each job. A real cluster keeps its configuration where srun finds it without
# SLURM_CONF (/etc/slurm or configless); this private one does not, so jobs get an srun that
# restores it, first on PATH (PATH reaches the jobs through sbatch --export=ALL).
mkdir "$TMP/bin"
printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$SLURM_CONF" "$(command -v srun)" >"$TMP/bin/srun"
chmod +x "$TMP/bin/srun"
# as after `source .venv/bin/activate`: the jobs inherit this PATH
export PATH=$TMP/bin:$VENV/bin:$PATH

say "smoke test: one sbatch job sees the venv"
# shellcheck disable=SC2016 # expanded in the job
smoke=$(sbatch --parsable --partition="$PARTITION" --account="$ACCOUNT" --output="$TMP/smoke.out" \
    --wrap 'set -e; echo "job $SLURM_JOB_ID on $(hostname), partition $SLURM_JOB_PARTITION"
            echo "python: $(command -v python)"; python -c "import fmrstrial, snakemake_executor_plugin_slurm_jobstep"
            srun -n1 true; echo "srun: ok"') || fail "sbatch failed"
for ((i = 0; i < 300; i++)); do
    state=$(squeue --noheader --states=all --jobs="$smoke" --format=%T)
    case $state in PENDING | CONFIGURING | RUNNING | COMPLETING | "") sleep 0.2 ;; *) break ;; esac
done
sed 's/^/  /' "$TMP/smoke.out" 2>/dev/null || true
[[ $state == COMPLETED ]] || { show_cluster_logs; fail "smoke-test job $smoke: ${state:-unknown state}"; }
grep -qx "python: $VENV/bin/python" "$TMP/smoke.out" || fail "jobs do not see $VENV/bin first on PATH"

# --- 3. the workflow on SLURM ---------------------------------------------------------------
CONFIG=$TMP/config.yaml
DATASET=data/demo$PARTICIPANTS
cat >"$CONFIG" <<EOF
# cluster test: the demo reduced to $PARTICIPANTS participants. The dataset path is relative to
# each run's working directory, so each run simulates its own copy (compared below too).
dataset: $DATASET
simulate:
  participants: $PARTICIPANTS
EOF
"$VENV/bin/python" "$HERE/make_test_profile.py" "$SRC/workflow/profiles/slurm" "$TMP/profile-slurm" \
    "$PARTITION" "$ACCOUNT" "$CPUS" | sed 's/^/  /' || fail "workflow/profiles/slurm is not usable"

# run_workflow NAME SHOW snakemake-args...: runs snakemake in working directory $TMP/run-NAME
# under `timeout` (Snakemake answers SIGTERM by waiting for running jobs, hence -k), output
# to $TMP/run-NAME.log, echoed (without the long input/output lists) if SHOW is 1. Runs in the
# background so that an interrupted test stops it at once (a foreground job would delay the
# trap until it ends).
run_workflow() {
    local show=$2 dir=$TMP/run-$1 log=$TMP/run-$1.log rc=0
    shift 2
    # the Snakefile's `configfile: "config/config.yaml"` is read relative to the working
    # directory; without this link Snakemake would silently use only --configfile + defaults
    mkdir -p "$dir"
    ln -s "$SRC/config" "$dir/config"
    info "cd $TMP && timeout -k 60 $RUN_TIMEOUT $* -d $dir"
    : >"$log"
    (cd "$TMP" && exec timeout -k 60 "$RUN_TIMEOUT" "$@" -d "$dir") </dev/null >"$log" 2>&1 &
    RUNNING="snakemake:$!"
    if [[ $show == 1 ]]; then
        tail -n +1 -f --pid="${RUNNING##*:}" "$log" | sed -E '/^    (input|output|reason): /d' &
        ECHOING=$!
    fi
    wait "${RUNNING##*:}" || rc=$?
    RUNNING=""
    if [[ -n $ECHOING ]]; then
        wait "$ECHOING"
        ECHOING=""
    fi
    if ((rc)); then
        [[ $show == 1 ]] || cat "$log"
        ((rc == 124)) && info "timed out after ${RUN_TIMEOUT}s (SLURM_TEST_TIMEOUT)"
    fi
    return "$rc"
}

say "workflow on SLURM: $PARTICIPANTS participants, profiles default + slurm"
if ! run_workflow slurm 1 "$VENV/bin/snakemake" -s "$SRC/Snakefile" --configfile "$CONFIG" \
    --profile "$SRC/workflow/profiles/default" --workflow-profile "$TMP/profile-slurm"; then
    for f in $(find "$TMP/run-slurm/.snakemake/slurm_logs" -name '*.log' 2>/dev/null | sort); do
        if grep -q "Error in rule\|Traceback\|error:" "$f"; then
            printf -- '--- %s\n' "$f"
            tail -n 40 "$f"
        fi
    done
    show_cluster_logs
    fail "the workflow failed on SLURM"
fi

say "did the jobs go through SLURM?"
info "slurmctld log, sbatch submissions:"
grep '_slurm_rpc_submit_batch_job' "$SLURM/slurmctld.log" | sed 's/^/    /'
"$VENV/bin/python" "$HERE/check_slurm_jobs.py" "$TMP/run-slurm.log" "$SLURM/slurmctld.log" "$VENV" \
    "$SRC/workflow/profiles/default" "$TMP/profile-slurm" || fail "SLURM evidence check failed"

# --- 4. the same config locally, then compare -----------------------------------------------
say "same config locally (laptop profile)"
run_workflow local 0 "$VENV/bin/snakemake" -s "$SRC/Snakefile" --configfile "$CONFIG" \
    --workflow-profile "$SRC/workflow/profiles/default" || fail "the local run failed"
grep -E '^[0-9]+ of [0-9]+ steps|^Elapsed time' "$TMP/run-local.log" | tail -n 2 | sed 's/^/  /'

say "SLURM run vs local run: byte-identical?"
"$VENV/bin/python" "$HERE/compare_results.py" "$TMP/run-slurm" "$TMP/run-local" results "$DATASET" ||
    fail "results on SLURM differ from the local run"

say "PASSED in $((SECONDS - START))s"
