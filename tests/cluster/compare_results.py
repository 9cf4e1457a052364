"""Compare the outputs of two runs of the workflow byte for byte.

Usage: compare_results.py RUN_A RUN_B [SUBDIR ...]

Compares every *.tsv, *.json and *.nii.gz under RUN_A/SUBDIR and RUN_B/SUBDIR (default
SUBDIR: results), except files that legitimately differ between runs because they record
hosts, times or resource use: anything under logs/ or benchmarks/, and any path containing
"provenance". Both runs must have the same set of files (at least one) and identical bytes.
Prints one line per file; exits 1 on any difference.
"""

import hashlib
import sys
from pathlib import Path

SUFFIXES = (".tsv", ".json", ".nii.gz")
EXCLUDED_DIRS = {"logs", "benchmarks"}


def excluded(rel):
    return bool(EXCLUDED_DIRS & set(rel.parts[:-1])) or "provenance" in str(rel).lower()


def tables(root):
    found, skipped = {}, 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not path.name.endswith(SUFFIXES):
            continue
        rel = path.relative_to(root)
        if excluded(rel):
            skipped += 1
        else:
            found[rel] = path
    return found, skipped


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(run_a, run_b, subdirs):
    ok = True
    total = 0
    for sub in subdirs:
        a, skipped = tables(Path(run_a) / sub)
        b, _ = tables(Path(run_b) / sub)
        print(
            f"{sub}/: {len(a)} vs {len(b)} files compared "
            f"({skipped} log/benchmark/provenance files excluded)"
        )
        if not a:
            print(f"  FAIL: no results tables under {Path(run_a) / sub}")
            ok = False
        for rel in sorted(set(a) | set(b)):
            if rel not in a or rel not in b:
                which = "first" if rel in a else "second"
                print(f"  FAIL  only in the {which} run: {sub}/{rel}")
                ok = False
                continue
            da, db = digest(a[rel]), digest(b[rel])
            same = da == db
            ok &= same
            total += same
            mark = "identical" if same else "DIFFERENT"
            print(f"  {mark}  {da[:16]}{'' if same else ' vs ' + db[:16]}  {sub}/{rel}")
    if ok:
        print(f"ok: {total} files byte-identical")
        return 0
    print("FAIL: the runs differ")
    return 1


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:] or ["results"]))
