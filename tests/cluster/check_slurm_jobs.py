"""Check that a Snakemake run really went through SLURM, and print its jobs.

Usage: check_slurm_jobs.py SNAKEMAKE_LOG SLURMCTLD_LOG VENV DEFAULT_PROFILE TEST_PROFILE

Evidence is taken from three independent places and must agree:
  * Snakemake's log: every non-local job ("rule X:") was submitted ("... SLURM jobid N") and
    finished; local jobs ("localrule X:") are listed separately;
  * slurmctld: `squeue --states=all` (completed jobs stay listed for MinJobAge) shows each
    job id, under the run's job name, COMPLETED; its log records the sbatch RPC for each id;
  * each job's batch script (`scontrol write batch_script`) runs `<venv>/bin/python -m snakemake`.
It also checks what SLURM granted (CPUs, memory, time limit, partition, account) against what
Snakemake asked for, and that against the profiles (set-threads / set-resources of the laptop
profile, default-resources of the SLURM profile): resources belong in profiles, not in rules.
Needs SLURM_CONF in the environment. Generic over rules: nothing here names a rule.
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

SQUEUE_FIELDS = ("id", "state", "name", "comment", "cpus", "mem", "limit", "partition", "account")
SQUEUE_FORMAT = "%i|%T|%j|%k|%C|%m|%l|%P|%a"


def parse_snakemake_log(text):
    run_ids = re.findall(r"^SLURM run ID: (\S+)$", text, re.M)
    jobs = {}  # snakemake jobid -> {rule, local, wildcards, threads, resources}
    current = None
    for line in text.splitlines():
        m = re.match(r"^(local)?rule (\S+):$", line)
        if m:
            current = {
                "rule": m.group(2),
                "local": bool(m.group(1)),
                "threads": 1,
                "wildcards": "",
                "resources": {},
            }
            continue
        if current is None:
            continue
        m = re.match(r"^    (\w+): (.*)$", line)
        if not m:
            if not line.startswith("    "):
                current = None
            continue
        key, value = m.groups()
        if key == "jobid":
            jobs[int(value)] = current
        elif key == "threads":
            current["threads"] = int(value)
        elif key == "wildcards":
            current["wildcards"] = value
        elif key == "resources":
            current["resources"] = dict(re.findall(r"(\w+)=([^,]*)", value))
    submitted = {
        int(a): b
        for a, b in re.findall(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", text, re.M)
    }
    finished = {int(j) for j in re.findall(r"^Finished jobid: (\d+)", text, re.M)}
    return run_ids, jobs, submitted, finished


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def squeue_history():
    out = run(["squeue", "--states=all", "--noheader", f"--format={SQUEUE_FORMAT}"])
    lines = [line.split("|") for line in out.splitlines() if line]
    rows = [dict(zip(SQUEUE_FIELDS, fields, strict=False)) for fields in lines]
    return {row["id"]: row for row in rows}


def mem_mb(text):
    m = re.fullmatch(r"([\d.]+)([KMGT]?)", text)
    if not m:
        return None
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[m.group(2)]
    return round(float(m.group(1)) * scale)


def minutes(text):
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return (int(days or 0) * 24 + h) * 60 + m + s / 60


def as_int(value):
    try:
        return int(str(value).strip().strip("'\""))
    except ValueError:
        return None


def expected_from_profiles(rule, default_profile, test_profile):
    """Threads and resources the profiles give a rule (None where not a plain number)."""
    threads = (default_profile.get("set-threads") or {}).get(rule)
    cores = as_int(test_profile.get("cores"))
    per_rule = (default_profile.get("set-resources") or {}).get(rule) or {}
    defaults = test_profile.get("default-resources") or {}
    expected = {}
    if threads is not None and as_int(threads) is not None:
        expected["threads"] = min(as_int(threads), cores) if cores else as_int(threads)
    for key in ("mem_mb", "runtime", "slurm_partition", "slurm_account"):
        value = per_rule.get(key, defaults.get(key))
        if key.startswith("slurm_"):
            expected[key] = None if value is None else str(value)
        elif as_int(value) is not None:
            expected[key] = as_int(value)
    return expected


def main(log_path, ctld_log_path, venv, default_profile_dir, test_profile_dir):
    text = Path(log_path).read_text()
    ctld_log = Path(ctld_log_path).read_text()
    default_profile = yaml.safe_load((Path(default_profile_dir) / "config.yaml").read_text())
    test_profile = yaml.safe_load((Path(test_profile_dir) / "config.yaml").read_text())
    python_prefix = str(Path(venv) / "bin" / "python")

    run_ids, jobs, submitted, finished = parse_snakemake_log(text)
    failures = []
    if len(set(run_ids)) != 1:
        sys.exit(f"FAIL: expected one 'SLURM run ID' in {log_path}, found {run_ids}")
    run_id = run_ids[0]
    remote = {j: info for j, info in jobs.items() if not info["local"]}
    local = {j: info for j, info in jobs.items() if info["local"]}
    if not submitted:
        failures.append("no job was submitted with sbatch")
    for j in sorted(set(remote) - set(submitted)):
        failures.append(f"job {j} ({remote[j]['rule']}) ran without a SLURM job id")
    for j in sorted(set(submitted) - set(remote)):
        failures.append(f"SLURM job {submitted[j]} belongs to unknown Snakemake job {j}")
    for j in sorted(set(jobs) - finished):
        failures.append(f"job {j} ({jobs[j]['rule']}) did not finish")

    history = squeue_history()
    ours = {i for i, row in history.items() if row["name"] == run_id}
    slurm_ids = set(submitted.values())
    for i in sorted(ours - slurm_ids, key=int):
        failures.append(f"SLURM job {i} of this run is not in Snakemake's log")

    print(f"SLURM run ID (job name of every job): {run_id}")
    header = (
        "SLURM id",
        "rule",
        "wildcards",
        "state",
        "cpus",
        "mem",
        "time",
        "partition",
        "account",
        "runs",
    )
    widths = (8, 22, 16, 10, 4, 7, 8, 10, 9, 0)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for j, slurm_id in sorted(submitted.items(), key=lambda kv: int(kv[1])):
        info = remote.get(j, {"rule": "?", "wildcards": "", "threads": None, "resources": {}})
        rule = info["rule"]
        row = history.get(slurm_id)
        if row is None:
            failures.append(f"SLURM job {slurm_id} ({rule}) is unknown to squeue (MinJobAge?)")
            continue
        try:
            script = run(["scontrol", "write", "batch_script", slurm_id, "-"])
        except subprocess.CalledProcessError as err:
            script = ""
            failures.append(f"SLURM job {slurm_id}: no batch script ({err.stderr.strip()})")
        command = next((ln for ln in script.splitlines() if ln and not ln.startswith("#")), "")
        runs = command.split(" -m ")[0] if " -m snakemake" in command else command[:40]
        wildcards = info["wildcards"].replace("pid=", "").replace(", sid=", "/") or "-"
        cells = (
            slurm_id,
            rule,
            wildcards,
            row["state"],
            row["cpus"],
            row["mem"],
            row["limit"],
            row["partition"],
            row["account"],
            runs,
        )
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))

        where = f"SLURM job {slurm_id} ({rule} {info['wildcards']})".rstrip()
        if row["state"] != "COMPLETED":
            failures.append(f"{where}: state {row['state']}")
        if row["name"] != run_id:
            failures.append(f"{where}: job name {row['name']} is not the run ID")
        if not re.search(rf"_slurm_rpc_submit_batch_job: JobId={slurm_id}\b", ctld_log):
            failures.append(f"{where}: no sbatch submission in the slurmctld log")
        if not command.startswith(python_prefix) or " -m snakemake" not in command:
            failures.append(f"{where}: batch script does not run {python_prefix} -m snakemake")
        if not row["comment"].startswith(f"rule_{rule}"):
            failures.append(f"{where}: comment {row['comment']!r} does not name the rule")

        # what SLURM granted == what Snakemake asked for
        asked = info["resources"]
        granted = {
            "threads": as_int(row["cpus"]),
            "mem_mb": mem_mb(row["mem"]),
            "runtime": minutes(row["limit"]),
            "slurm_partition": row["partition"],
            "slurm_account": row["account"],
        }
        wanted = {
            "threads": info["threads"],
            "mem_mb": as_int(asked.get("mem_mb", "")),
            "runtime": as_int(asked.get("runtime", "")),
            "slurm_partition": asked.get("slurm_partition"),
            "slurm_account": asked.get("slurm_account"),
        }
        for key, value in wanted.items():
            if value is not None and granted[key] != value:
                failures.append(f"{where}: Snakemake asked {key}={value}, SLURM has {granted[key]}")
        # what Snakemake asked for == what the profiles say
        for key, value in expected_from_profiles(rule, default_profile, test_profile).items():
            if value is not None and wanted[key] is not None and wanted[key] != value:
                failures.append(
                    f"{where}: {key}={wanted[key]} but the profiles give {value} "
                    "(set resources in workflow/profiles/, not in the rule)"
                )

    local_rules = ", ".join(sorted(i["rule"] for i in local.values())) or "-"
    print(f"local jobs (not submitted): {local_rules}")
    print(
        f"slurmctld log: {sum(1 for i in slurm_ids if f'JobId={i} ' in ctld_log)} of "
        f"{len(slurm_ids)} submissions recorded"
    )
    if failures:
        print("FAIL:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(
        f"ok: {len(submitted)} jobs went through sbatch and completed on SLURM, "
        f"{len(local)} ran locally; resources match the profiles; jobs ran {python_prefix}"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
