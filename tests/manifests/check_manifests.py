#!/usr/bin/python3
"""Checks docker/k8s/*.yaml and docker/compose.yaml (ctest label `manifests`).

- every YAML document parses; Kubernetes ones have apiVersion, kind and metadata.name;
  kustomization.yaml's resources exist, and every other manifest is either a resource or named
  in one of its comments as deliberately left out;
- the exit codes come from src/core/base/exit_code.h (the enum) and must match the table of
  docs/exit-codes.md; for every Job that runs `rollsafe up` or `rollsafe rollback` with a
  podFailurePolicy, each code is either in the policy's onExitCodes (FailJob, Ignore or Count)
  or named in a comment of its file as left to backoffLimit, and each comment line
  `#   <code> <NAME> -> <action>` agrees with the policy; codes whose documented pipeline action
  is to retry are never FailJob, and codes that say halt / page a person / do not deploy are;
- podFailurePolicy's prerequisites: restartPolicy Never, a containerName that exists, a
  terminationGracePeriodSeconds long enough for a clean INTERRUPTED exit;
- the app's init container runs `gate --release $(X)` and the migration Job `up --release $(X)`
  with the same X, read from the same ConfigMap key; compose.yaml's migrate and gate services
  use the same ${VAR} too;
- every pod runs as non-root with no privilege escalation, a read-only root filesystem and all
  capabilities dropped, and gets its password from PGPASSFILE, never from an argument.

Usage: check_manifests.py <source dir>. Exit 0 when every check passes, 1 otherwise.
"""
import os
import re
import sys

import yaml

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
K8S = os.path.join(ROOT, "docker", "k8s")
COMPOSE = os.path.join(ROOT, "docker", "compose.yaml")
ACTIONS = {"FailJob", "Ignore", "Count", "backoffLimit", "success"}

failures = []


def fail(msg):
    failures.append(msg)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- exit codes from the source of truth --------------------------------------------------------
def exit_codes():
    header = open(os.path.join(ROOT, "src", "core", "base", "exit_code.h")).read()
    enum = re.search(r"enum class ExitCode[^{]*\{(.*?)\};", header, re.S)
    codes = {int(v): n.upper() for n, v in re.findall(r"(\w+)\s*=\s*(\d+)", enum.group(1))}
    if len(codes) < 15:
        fail(f"exit_code.h: only {len(codes)} exit codes found")
    doc = open(os.path.join(ROOT, "docs", "exit-codes.md")).read()
    table = {}
    for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*\|([^|]*)\|([^|]*)\|", doc, re.M):
        table[int(m.group(1))] = (m.group(2), m.group(4).strip())
    for code, name in codes.items():
        if code not in table:
            fail(f"docs/exit-codes.md: code {code} {name} is not in the table")
        elif table[code][0] != name:
            fail(f"docs/exit-codes.md: code {code} is {table[code][0]}, exit_code.h says {name}")
    for code in table:
        if code not in codes:
            fail(f"docs/exit-codes.md: code {code} is not in exit_code.h")
    return codes, {c: t[1] for c, t in table.items()}


# ---- loading ------------------------------------------------------------------------------------
def load(path):
    try:
        with open(path) as f:
            text = f.read()
        return text, [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{rel(path)}: does not parse: {e}")
        return "", []


def pod_spec(doc):
    kind = doc.get("kind")
    if kind in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        return doc["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    return None


def containers(spec):
    return [("init", c) for c in spec.get("initContainers", [])] + [
        ("main", c) for c in spec.get("containers", [])]


def words(c):
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def rollsafe_command(c):
    """The rollsafe sub-command a container runs (the image's ENTRYPOINT is rollsafe), or None."""
    w = words(c)
    if c.get("command"):
        if not w or os.path.basename(w[0]) != "rollsafe":
            return None
        w = w[1:]
    for a in w:
        if not a.startswith("-"):
            return a
    return None


def release_var(c, doc_name):
    """X of --release=$(X) / --release $(X) in a container's arguments."""
    w = words(c)
    for i, a in enumerate(w):
        value = None
        if a.startswith("--release="):
            value = a.split("=", 1)[1]
        elif a == "--release" and i + 1 < len(w):
            value = w[i + 1]
        if value is not None:
            m = re.fullmatch(r"\$\((\w+)\)", value)
            if not m:
                fail(f"{doc_name}: --release {value!r} is not a $(VARIABLE) reference")
                return None
            return m.group(1)
    return None


def env_source(c, var):
    for e in c.get("env", []):
        if e.get("name") == var:
            ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                return ("configMap", ref.get("name"), ref.get("key"))
            return ("value", e.get("value"))
    return None


# ---- checks -------------------------------------------------------------------------------------
def check_security(path, doc, spec):
    where = f"{rel(path)}: {doc['kind']} {doc['metadata']['name']}"
    psc = spec.get("securityContext") or {}
    for _, c in containers(spec):
        sc = c.get("securityContext") or {}
        name = f"{where}: container {c.get('name')}"
        if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True):
            fail(f"{name}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        if uid in (None, 0):
            fail(f"{name}: runAsUser is {uid!r}")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{name}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(f"{name}: readOnlyRootFilesystem is not true")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            fail(f"{name}: capabilities.drop lacks ALL")
        for a in words(c) + [str(e.get("value", "")) for e in c.get("env", [])]:
            if re.search(r"password\s*=|://[^/@\s:]+:[^/@\s]+@", a, re.I):
                fail(f"{name}: a password in an argument or variable: use PGPASSFILE")
        if rollsafe_command(c) and not env_source(c, "PGPASSFILE"):
            fail(f"{name}: runs rollsafe without PGPASSFILE")


def check_job_policy(path, text, doc, spec, codes, pipeline):
    where = f"{rel(path)}: Job {doc['metadata']['name']}"
    js = doc["spec"]
    policy = js.get("podFailurePolicy")
    if not policy:
        fail(f"{where}: runs rollsafe but has no podFailurePolicy")
        return
    if spec.get("restartPolicy") != "Never":
        fail(f"{where}: podFailurePolicy needs restartPolicy: Never")
    if not isinstance(js.get("backoffLimit", js.get("backoffLimitPerIndex")), int):
        fail(f"{where}: no backoffLimit")
    if not isinstance(js.get("activeDeadlineSeconds"), int):
        fail(f"{where}: no activeDeadlineSeconds")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < 60:
        fail(f"{where}: terminationGracePeriodSeconds {grace} leaves too little time for a clean "
             "INTERRUPTED (13) exit (want >= 60)")
    names = {c.get("name") for _, c in containers(spec)}
    mapped = {}
    for rule in policy.get("rules", []):
        action = rule.get("action")
        oec = rule.get("onExitCodes")
        if not oec:
            continue
        if oec.get("containerName") not in names:
            fail(f"{where}: onExitCodes.containerName {oec.get('containerName')!r} is not a container")
        if oec.get("operator") != "In":
            fail(f"{where}: onExitCodes operator {oec.get('operator')!r}: use In with explicit codes")
        for v in oec.get("values", []):
            if v == 0:
                fail(f"{where}: exit code 0 cannot be in onExitCodes")
            if v in mapped:
                fail(f"{where}: exit code {v} is in two rules")
            mapped[v] = action
    # The comment lines `#   <code> <NAME> -> <action>: why`.
    commented = {}
    for m in re.finditer(r"^\s*#\s+(\d+)\s+([A-Z_]+)\s+->\s+(\w+)", text, re.M):
        code, name, action = int(m.group(1)), m.group(2), m.group(3)
        if code in commented:
            fail(f"{where}: exit code {code} is commented twice")
        commented[code] = action
        if code not in codes:
            fail(f"{where}: comment names exit code {code}, which exit_code.h does not have")
        elif codes[code] != name:
            fail(f"{where}: comment says {code} is {name}; exit_code.h says {codes[code]}")
        if action not in ACTIONS:
            fail(f"{where}: comment on {code}: unknown action {action!r} (one of {sorted(ACTIONS)})")
    for code, name in sorted(codes.items()):
        label = f"{where}: exit {code} {name}"
        action = commented.get(code)
        if action is None:
            fail(f"{label}: neither commented nor mapped (add `#   {code} {name} -> <action>: why`)")
            continue
        if code == 0:
            if action != "success":
                fail(f"{label}: comment should say success")
            continue
        if action == "backoffLimit":
            if code in mapped:
                fail(f"{label}: commented as left to backoffLimit but mapped to {mapped[code]}")
        elif mapped.get(code) != action:
            fail(f"{label}: commented {action}, podFailurePolicy says {mapped.get(code, 'nothing')}")
        doc_action = pipeline.get(code, "").lower()
        final = mapped.get(code) == "FailJob"
        if re.match(r"(retry|re-run)", doc_action) and final:
            fail(f"{label}: docs/exit-codes.md says {doc_action!r} but the Job fails at once")
        if re.match(r"(halt|page a person|do not deploy)", doc_action) and not final:
            fail(f"{label}: docs/exit-codes.md says {doc_action!r} but the Job would retry")
    for code in mapped:
        if code not in codes:
            fail(f"{where}: podFailurePolicy maps {code}, which is not a rollsafe exit code")


def configmap_keys(docs, kdocs):
    """(name, key) of every ConfigMap the kustomization makes: resources and generators."""
    keys = set()
    kust = kdocs[0] if kdocs else {}
    for r in kust.get("resources", []):
        for d in docs.get(r, (None, None, []))[2]:
            if isinstance(d, dict) and d.get("kind") == "ConfigMap":
                keys |= {(d["metadata"]["name"], k) for k in (d.get("data") or {})}
    for g in kust.get("configMapGenerator", []):
        for lit in g.get("literals", []):
            keys.add((g["name"], lit.split("=", 1)[0]))
        for env in g.get("envs", []) + ([g["env"]] if g.get("env") else []):
            path = os.path.join(K8S, env)
            if not os.path.exists(path):
                fail(f"kustomization.yaml: {env} does not exist")
                continue
            for line in open(path):
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    keys.add((g["name"], line.split("=", 1)[0]))
    return keys


def main():
    codes, pipeline = exit_codes()
    files = sorted(f for f in os.listdir(K8S) if f.endswith((".yaml", ".yml")))
    docs = {}
    for f in files:
        path = os.path.join(K8S, f)
        text, ds = load(path)
        docs[f] = (path, text, ds)
        for d in ds:
            if f.startswith("kustomization"):
                continue
            if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") \
                    or not (d.get("metadata") or {}).get("name"):
                fail(f"{rel(path)}: a document without apiVersion, kind or metadata.name")

    # kustomization: resources exist; other manifests are named as left out.
    kpath, ktext, kdocs = docs.get("kustomization.yaml", (None, "", []))
    if not kdocs:
        fail("docker/k8s/kustomization.yaml is missing")
    else:
        resources = kdocs[0].get("resources", [])
        for r in resources:
            if r not in docs:
                fail(f"kustomization.yaml: resource {r} does not exist")
        comments = "\n".join(l for l in ktext.splitlines() if l.lstrip().startswith("#"))
        for f in files:
            if f != "kustomization.yaml" and f not in resources and f not in comments:
                fail(f"kustomization.yaml: {f} is neither a resource nor named as left out")

    jobs_checked = 0
    up_release = gate_release = None
    for f, (path, text, ds) in docs.items():
        for d in ds:
            if not isinstance(d, dict):
                continue
            spec = pod_spec(d)
            if spec is None:
                continue
            check_security(path, d, spec)
            commands = {rollsafe_command(c) for _, c in containers(spec)}
            if d["kind"] == "Job" and commands & {"up", "rollback"}:
                jobs_checked += 1
                check_job_policy(path, text, d, spec, codes, pipeline)
            for kind, c in containers(spec):
                cmd = rollsafe_command(c)
                if cmd not in ("up", "gate"):
                    continue
                var = release_var(c, f"{f}: {d['metadata']['name']}/{c.get('name')}")
                if var is None:
                    continue
                src = env_source(c, var)
                entry = (var, src, f"{f}: {d['kind']} {d['metadata']['name']}/{c.get('name')}")
                if cmd == "up" and d["kind"] == "Job" and "--targets" not in " ".join(words(c)):
                    up_release = entry
                if cmd == "gate" and kind == "init":
                    gate_release = entry
    if jobs_checked == 0:
        fail("no Job running `rollsafe up` or `rollback` in docker/k8s")
    if not up_release:
        fail("no migration Job running `rollsafe up --release $(VAR)`")
    if not gate_release:
        fail("no init container running `rollsafe gate --release $(VAR)`")
    if up_release and gate_release:
        if up_release[0] != gate_release[0]:
            fail(f"release variables differ: {up_release[2]} uses $({up_release[0]}), "
                 f"{gate_release[2]} uses $({gate_release[0]})")
        elif up_release[1] != gate_release[1] or not up_release[1] \
                or up_release[1][0] != "configMap":
            fail(f"$({up_release[0]}) comes from {up_release[1]} in {up_release[2]} but from "
                 f"{gate_release[1]} in {gate_release[2]}: read both from one ConfigMap key")
        elif (up_release[1][1], up_release[1][2]) not in configmap_keys(docs, kdocs):
            fail(f"$({up_release[0]}): ConfigMap {up_release[1][1]} with key {up_release[1][2]} "
                 "is neither a resource nor generated by kustomization.yaml")

    # compose.yaml: parses; migrate (up) and gate use the same ${VAR}.
    if not os.path.exists(COMPOSE):
        fail("docker/compose.yaml is missing")
    else:
        _, cdocs = load(COMPOSE)
        services = (cdocs[0] if cdocs else {}).get("services") or {}
        if not services:
            fail("docker/compose.yaml: no services")
        found = {}
        for name, s in services.items():
            cmd = s.get("command") or []
            cmd = cmd.split() if isinstance(cmd, str) else [str(x) for x in cmd]
            joined = " ".join(cmd)
            m = re.search(r"--release[= ]\$\{(\w+)", joined)
            if cmd and cmd[0] in ("up", "gate") and m:
                found[cmd[0]] = (m.group(1), name)
            for e in (s.get("environment") or {}):
                if isinstance(s["environment"], dict) and re.search(
                        r"password", e, re.I) and e != "POSTGRES_PASSWORD_FILE":
                    fail(f"compose.yaml: service {name}: a password variable {e}")
        if set(found) != {"up", "gate"}:
            fail(f"compose.yaml: want an `up --release ${{VAR}}` and a `gate --release ${{VAR}}` "
                 f"service, found {found}")
        elif found["up"][0] != found["gate"][0]:
            fail(f"compose.yaml: {found['up'][1]} uses ${{{found['up'][0]}}}, "
                 f"{found['gate'][1]} uses ${{{found['gate'][0]}}}")

    n_docs = sum(len(ds) for _, _, ds in docs.values())
    if failures:
        for f in failures:
            print("FAIL:", f)
        print(f"{len(failures)} problem(s) in docker/k8s and docker/compose.yaml")
        return 1
    print(f"ok: {len(files)} files, {n_docs} documents in docker/k8s and docker/compose.yaml; "
          f"{len(codes)} exit codes covered in {jobs_checked} Job(s); release variable "
          f"$({up_release[0]}) shared by {up_release[2]} and {gate_release[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
