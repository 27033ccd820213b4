#!/usr/bin/env python3
"""squawk parity on the hazard corpus.

Runs squawk (JSON reporter) and `rollsafe check --format json` on every case of
tests/data/corpus, maps each squawk rule to rollsafe rules with the table in
docs/rules/README.md, and prints every squawk finding with what rollsafe reported for it:

  covered   rollsafe reports a mapped rule on the same file
  runner    rollsafe's runner does it (lock_timeout / statement_timeout per statement)
  context   rollsafe reports nothing because its context shows no hazard; the README's note
            says why (transaction wrapping, objects created in the same migration, ...)

Exit 1 when a squawk finding is neither covered nor explained.

  bench/check/parity.py --rollsafe build-release/rollsafe --squawk node_modules/.bin/squawk
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mapping():
    table = {}
    with open(os.path.join(ROOT, "docs/rules/README.md")) as f:
        for line in f:
            m = re.match(r"\| `([a-z0-9-]+)` \| (.*?) \| (.*?) \|$", line.strip())
            if not m:
                continue
            ids = re.findall(r"\[`([a-z0-9-]+)`\]", m.group(2))
            table[m.group(1)] = (ids, m.group(3))
    return table


def squawk_rules(squawk, path):
    out = subprocess.run([squawk, "--reporter", "json", path], capture_output=True, text=True)
    try:
        found = json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        sys.exit(f"squawk printed no JSON for {path}: {out.stderr}")
    return sorted({f.get("rule_name") or f.get("rule") for f in found})


def rollsafe_rules(rollsafe, path):
    out = subprocess.run([rollsafe, "check", "--format", "json", path], capture_output=True, text=True)
    doc = json.loads(out.stdout)
    return {f["rule"] for m in doc["migrations"] for f in m["findings"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollsafe", default=os.path.join(ROOT, "build-release/rollsafe"))
    ap.add_argument("--squawk", required=True)
    args = ap.parse_args()
    table = mapping()
    counts = {"covered": 0, "runner": 0, "context": 0, "missing": 0}
    corpus = os.path.join(ROOT, "tests/data/corpus")
    for path in sorted(glob.glob(os.path.join(corpus, "*.sql"))):
        name = os.path.basename(path)
        if name == "base-schema.sql":
            continue
        ours = rollsafe_rules(args.rollsafe, path)
        for rule in squawk_rules(args.squawk, path):
            ids, note = table.get(rule, ([], ""))
            if set(ids) & ours:
                verdict = "covered"
            elif rule in ("require-lock-timeout", "require-statement-timeout") or not ids:
                verdict = "runner" if rule.startswith("require-") else "context"
            elif note:
                verdict = "context"
            else:
                verdict = "missing"
            counts[verdict] += 1
            detail = ", ".join(sorted(set(ids) & ours)) if verdict == "covered" else note
            print(f"{name:42} {rule:38} {verdict:8} {detail}")
    print("\n" + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 1 if counts["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
