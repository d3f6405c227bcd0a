"""The secrets gate's verdict (scripts/gates). Arguments: the baseline a scan of the tracked
files was just merged into (detect-secrets keeps the labels of the findings the baseline
already held), and the committed baseline. Fails on every finding that is not labelled
"not a secret" (is_secret false), printing each as path:line: type (why)."""
import json
import sys

merged, committed = (json.load(open(path))["results"] for path in sys.argv[1:3])
known = {(path, r["type"], r["hashed_secret"]) for path, found in committed.items() for r in found}
bad = []
for path, found in sorted(merged.items()):
    for r in found:
        label = r.get("is_secret")
        if label is False:
            continue
        if label:
            why = "marked a real secret in the baseline"
        elif (path, r["type"], r["hashed_secret"]) in known:
            why = "in the baseline but never audited"
        else:
            why = "not in the baseline"
        bad.append(f"{path}:{r['line_number']}: {r['type']} ({why})")
for line in bad:
    print(line)
if bad:
    print(f"{len(bad)} finding(s): remove the secret; if it is none, "
          "scripts/gates --update-baseline and answer 'y' (may be committed) for it")
sys.exit(1 if bad else 0)
