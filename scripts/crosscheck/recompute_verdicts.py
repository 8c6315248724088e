#!/usr/bin/env python3
# Independent recomputation of `replicate diff` claim verdicts from the result files (paired Student-t, Holm).
# Written from the Verdicts rules (degenerate runs, per-setting outcomes, Holm per claim), NOT from the Swift
# sources under Sources/Harness/Diff/, so that it can cross-check them.
#
# How to run (from the repository root):
#   python3 -m venv ~/verdicts && ~/verdicts/bin/pip install scipy pyyaml      # once
#   ~/verdicts/bin/python scripts/crosscheck/recompute_verdicts.py [--profile default]
#   .build/debug/replicate diff --format json --profile default > /tmp/diff.json
#   ~/verdicts/bin/python scripts/crosscheck/recompute_verdicts.py --profile default --diff-json /tmp/diff.json
# Options: --root DIR (repository root; default: two levels above this file), --experiment NAME (repeatable),
#          --alpha 0.05 (family level for Holm and per-side level of the interval; default 0.05 = 90% two-sided),
#          --strict (with --diff-json, also compare each setting's p_contradicted, holm_rejected, look, and more:
#          see below).
# Without --diff-json it prints, per claim, `experiment/id  outcome` and one indented line per setting
# (label, n, mean d, interval low/high, outcome). With --diff-json it also compares the claim outcomes and, per
# setting, n, outcome, mean_d, ci_low, ci_high (to 1e-9) and whether `look` is null with the harness's JSON,
# prints every disagreement and `N claims compared, K disagree`, and exits 1 if any claim disagrees.
#
# Rules as implemented here (the Verdicts section of README.md, plus three later changes):
#   - Setting outcomes, in order: not run (a method has no job at all) / invalid (comparator degenerate in some
#     seed) / held / contradicted / inconclusive. An `invalid` setting gets no p-value: it counts in Holm's m
#     but can never be rejected (a test against a degenerate comparator means nothing).
#   - A result file that is not strict JSON (e.g. a NaN token) is unreadable: an error, so the job is absent.
#   - gain-grows: a step v -> w where either method has no job at all at v or at w is `not run`.
#   - Holm per claim: m = the settings that are not `not run`; order the one-sided p-values by p/level and reject
#     the j-th (1-based) while p <= level/(m - j + 1), each setting with its own one-sided level (--alpha for a
#     fixed claim, so this is the usual Holm there).
#   - Sequential claims: a manifest with `resolve: {looks: [...], boundary: ...}` at the top level or under
#     `profiles.<profile>` judges each setting at its current look with a critical value from a calibrated
#     group-sequential design. That calibration is NOT recomputed here: per setting, `t_critical` and
#     `level_per_side` are taken from the --diff-json (matched by position in `settings[]`, labels checked) and
#     everything else is recomputed: interval = mean +- t_critical * SE, the outcomes, p, Holm. So sequential
#     claims need --diff-json (without it they print as "sequential: needs --diff-json"). The boundary itself is
#     tested on the Swift side (published Pocock / O'Brien-Fleming constants and an exact calculation), not here.
#     The look recomputed here is the largest L with looks[L-1] <= the number of seeds at which both methods
#     have a job (any status; for gain-grows, all four cells), at least 1; null for fixed claims and for a
#     gain-grows step that is `not run` (the rules do not say which look a `not run` setting is at; this follows
#     the harness: a better/equal setting with a method missing is at look 1, a missing gain-grows step at none).
#     Whether look is null is always compared; its value only with --strict.
#   - --strict also compares p_contradicted, holm_rejected, and for fixed claims level_per_side (= --alpha) and
#     t_critical (= the Student-t quantile at 1 - alpha, n - 1 df). For sequential claims it prints, as a note and
#     not a disagreement, any t_critical that is not the Student-t quantile of its level_per_side at n - 1 df.
import argparse
import json
import math
import sys
from pathlib import Path

import yaml
from scipy import stats

MISSING = object()


# ---------------------------------------------------------------- values and key paths

def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def norm(v):
    """Canonical form for equality: numbers as float (100 == 100.0), containers recursively."""
    if is_num(v):
        return float(v)
    if isinstance(v, dict):
        return tuple(sorted((k, norm(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(norm(x) for x in v)
    return v


def sort_key(v):
    if v is MISSING:
        return (2, "")
    if isinstance(v, float):
        return (0, v, "")
    return (1, 0.0, str(v))


def fmt_value(v):
    if v is MISSING:
        return "?"
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_num(v):
        f = float(v)
        if math.isfinite(f) and f.is_integer():
            return str(int(f))
        return repr(f)
    return str(v)


def lookup(job, path):
    """Dotted path into spec, falling back to the job's `setting` object key. Returns a normalised value."""
    node = job["spec"]
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            node = MISSING
            break
    if node is MISSING:
        setting = job["setting"]
        if path in setting:
            node = setting[path]
    return MISSING if node is MISSING else norm(node)


def flatten(mapping, prefix=""):
    out = {}
    for k, v in (mapping or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def finite(v):
    return is_num(v) and math.isfinite(float(v))


# ---------------------------------------------------------------- loading

def has_bad_value(v):
    if v is None:
        return True
    if is_num(v):
        return not math.isfinite(float(v))
    if isinstance(v, list):
        return any(has_bad_value(x) for x in v)
    if isinstance(v, dict):
        return any(has_bad_value(x) for x in v.values())
    return False


def classify(doc, failed):
    """'degenerate', 'healthy', or None (an error: the job counts as absent)."""
    if failed:
        code = (doc.get("reason") or {}).get("code")
        return "degenerate" if code == "non-finite-loss" else None
    metrics = doc.get("metrics") or {}
    overall = metrics.get("overall") or {}
    if any(has_bad_value(v) for v in overall.values()):
        return "degenerate"
    k = overall.get("train_predicted_classes", MISSING)
    if k is MISSING:
        return "healthy"
    train_count = ((metrics.get("per_class") or {}).get("train_count"))
    C = len(train_count) if isinstance(train_count, list) else None
    if k <= 1:
        return "degenerate"  # collapsed
    if C:
        be = overall.get("train_balanced_error")
        if finite(be) and be >= 100.0 * (1.0 - 1.0 / C) - 2.0:
            return "degenerate"  # chance
        if k < C / 2.0:
            return "degenerate"  # partial collapse
    return "healthy"


def reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def load_jobs(results_dir):
    jobs = []
    if not results_dir.is_dir():
        return jobs
    for f in sorted(results_dir.glob("*.json")):
        failed = f.name.endswith(".failed.json")
        try:
            with open(f) as fh:  # strict JSON: NaN/Infinity tokens make the file unreadable (an error: absent)
                doc = json.load(fh, parse_constant=reject_constant)
        except ValueError as e:
            print(f"warning: {f}: not readable JSON ({e}); counted as absent", file=sys.stderr)
            continue
        status = classify(doc, failed)
        if status is None:
            continue
        spec = doc.get("spec") or {}
        m = spec.get("method")
        method = m.get("id") if isinstance(m, dict) else m
        setting = doc.get("setting") or {}
        overall = {} if failed else ((doc.get("metrics") or {}).get("overall") or {})
        jobs.append({
            "file": f.name, "method": method, "seed": norm(spec.get("seed")), "spec": spec, "setting": setting,
            "setting_key": norm(setting), "status": status, "overall": overall,
        })
    return jobs


# ---------------------------------------------------------------- statistics

def t_summary(ds):
    """n, mean and standard error of the paired differences (no interval yet: see with_interval)."""
    n = len(ds)
    out = {"n": n, "mean": None, "se": None, "low": None, "high": None}
    if n == 0:
        return out
    mean = math.fsum(ds) / n
    out["mean"] = mean
    if n < 2:
        return out
    s = math.sqrt(math.fsum((d - mean) ** 2 for d in ds) / (n - 1))
    out["se"] = s / math.sqrt(n)
    return out


def fixed_tcrit(n, alpha):
    return float(stats.t.ppf(1.0 - alpha, n - 1)) if n >= 2 else None


def with_interval(s, tcrit):
    """mean +- tcrit * SE (None without n >= 2 or without a critical value)."""
    if s["se"] is not None and tcrit is not None:
        s["low"] = s["mean"] - tcrit * s["se"]
        s["high"] = s["mean"] + tcrit * s["se"]
    return s


def t_cdf(x, df):
    return stats.t.cdf(x, df)


def p_contradicting(summary, kind, margin):
    """One-sided p of the contradicting side; None without n >= 2."""
    n, mean, se = summary["n"], summary["mean"], summary["se"]
    if n < 2:
        return None
    if kind == "equal":
        num = abs(mean) - margin  # beyond the margin on the side the mean lies on
        if se == 0:
            return 0.0 if num > 0 else (1.0 if num < 0 else 0.5)
        return float(stats.t.sf(num / se, n - 1))
    if se == 0:
        return 0.0 if mean < 0 else (1.0 if mean > 0 else 0.5)
    return float(t_cdf(mean / se, n - 1))


def oriented(a, b, direction):
    return (b - a) if direction == "lower" else (a - b)


# ---------------------------------------------------------------- claims

def judge_better_like(s, a_degen, b_degen, a_missing, b_missing, claim):
    """Outcome of one setting of a `better` (or one gain-grows step); s carries its interval."""
    if a_missing or b_missing:
        return "not run"
    if b_degen:
        return "invalid"
    me = claim.get("min_effect")
    if (s["n"] >= 3 and s["low"] is not None and s["low"] > 0 and (me is None or s["low"] >= me)
            and not a_degen):
        return "held"
    if s["high"] is not None and s["high"] < 0:
        return "contradicted"
    return "inconclusive"


def judge_equal(s, any_degen, a_missing, b_missing, margin):
    if a_missing or b_missing:
        return "not run"
    if any_degen:
        return "invalid"
    if s["n"] >= 3 and s["low"] is not None and -margin < s["low"] and s["high"] < margin:
        return "held"
    if s["low"] is not None and (s["low"] > margin or s["high"] < -margin):
        return "contradicted"
    return "inconclusive"


def group_label(keys, values):
    if not keys:
        return "all settings"
    return " ".join(f"{k.split('.')[-1]}={fmt_value(v)}" for k, v in zip(keys, values))


def paired_ds(a_jobs, b_jobs, metric, direction):
    a_index = {(j["setting_key"], j["seed"]): j for j in a_jobs}
    ds = []
    for b in b_jobs:
        a = a_index.get((b["setting_key"], b["seed"]))
        if a is None or a["status"] != "healthy" or b["status"] != "healthy":
            continue
        va, vb = a["overall"].get(metric), b["overall"].get(metric)
        if not (finite(va) and finite(vb)):
            continue
        ds.append(float(va) - float(vb) if direction is None else oriented(float(va), float(vb), direction))
    return ds


def both_seeds(a_jobs, b_jobs):
    """Seeds at which both methods have a job (any status), per setting key."""
    a = {(j["setting_key"], j["seed"]) for j in a_jobs}
    return len({k for k in ((j["setting_key"], j["seed"]) for j in b_jobs) if k in a})


def look_of(seeds, looks):
    if not looks:
        return None
    return max(1, sum(1 for size in looks if size <= seeds))


def evaluate_claim(claim, jobs, alpha, looks=None, design=None):
    """Recompute one claim. looks: the manifest's resolve looks (None for a fixed claim). design: for a sequential
    claim, the harness's settings[] for this claim (t_critical, level_per_side taken from it by position).
    Returns (outcome, settings, problems) where problems are label/design mismatches with the harness JSON."""
    kind = claim.get("kind", "better")
    A, B = claim["better"], claim["than"]
    metric, direction = claim["metric"], claim.get("direction", "lower")
    per = list(claim.get("per") or [])
    filt = {k: norm(v) for k, v in flatten(claim.get("setting")).items()}
    sel = [j for j in jobs if j["method"] in (A, B) and all(lookup(j, k) == v for k, v in filt.items())]
    settings = []

    if kind in ("better", "equal"):
        groups = {}
        for j in sel:
            groups.setdefault(tuple(lookup(j, k) for k in per), []).append(j)
        if not groups:
            groups[tuple(MISSING for _ in per)] = []
        for gk in sorted(groups, key=lambda t: tuple(sort_key(v) for v in t)):
            g = groups[gk]
            a_jobs = [j for j in g if j["method"] == A]
            b_jobs = [j for j in g if j["method"] == B]
            a_degen = any(j["status"] == "degenerate" for j in a_jobs)
            b_degen = any(j["status"] == "degenerate" for j in b_jobs)
            ds = paired_ds(a_jobs, b_jobs, metric, direction if kind == "better" else None)
            settings.append({"label": group_label(per, gk), "ds": ds, "a_degen": a_degen, "b_degen": b_degen,
                             "a_missing": not a_jobs, "b_missing": not b_jobs,
                             "seeds": both_seeds(a_jobs, b_jobs)})
    elif kind == "gain-grows":
        along = claim["along"]
        groups = {}
        for j in sel:
            if per:
                gk = tuple(lookup(j, k) for k in per)
            else:
                gk = tuple(sorted((k, norm(v)) for k, v in j["setting"].items() if k != along))
            groups.setdefault(gk, []).append(j)
        if not groups:
            groups[()] = []

        def glabel(gk):
            if per:
                return group_label(per, gk)
            return " ".join(f"{k.split('.')[-1]}={fmt_value(v)}" for k, v in gk)

        for gk in sorted(groups, key=lambda t: tuple(sort_key(x[1] if not per else x) for x in t)):
            g = groups[gk]
            gl = glabel(gk)
            values = sorted({lookup(j, along) for j in g} - {MISSING}, key=sort_key)
            if len(values) < 2:
                settings.append({"label": (f"{along.split('.')[-1]} ({gl})" if gl else along.split('.')[-1]),
                                 "ds": [], "a_degen": False, "b_degen": False, "a_missing": True,
                                 "b_missing": True, "seeds": 0})
                continue
            for v, w in zip(values, values[1:]):
                label = f"{along.split('.')[-1]} {fmt_value(v)} → {fmt_value(w)}" + (f" ({gl})" if gl else "")

                def at(method, val):
                    return [j for j in g if j["method"] == method and lookup(j, along) == val]

                Av, Bv, Aw, Bw = at(A, v), at(B, v), at(A, w), at(B, w)

                def index(js):
                    return {(norm({k: x for k, x in j["setting"].items() if k != along}), j["seed"]): j for j in js}

                iAv, iBv, iAw, iBw = index(Av), index(Bv), index(Aw), index(Bw)
                ds = []
                all_four = sorted(set(iAv) & set(iBv) & set(iAw) & set(iBw), key=repr)
                for key in all_four:
                    four = [iAv[key], iBv[key], iAw[key], iBw[key]]
                    if any(j["status"] != "healthy" for j in four):
                        continue
                    vals = [j["overall"].get(metric) for j in four]
                    if not all(finite(x) for x in vals):
                        continue
                    av, bv, aw, bw = map(float, vals)
                    ds.append(oriented(aw, bw, direction) - oriented(av, bv, direction))
                a_degen = any(j["status"] == "degenerate" for j in Av + Aw)
                b_degen = any(j["status"] == "degenerate" for j in Bv + Bw)
                # A method with no job at all at v or at w: the gain does not exist there -> not run.
                settings.append({"label": label, "ds": ds, "a_degen": a_degen, "b_degen": b_degen,
                                 "a_missing": not (Av and Aw), "b_missing": not (Bv and Bw),
                                 "seeds": len({k[1] for k in all_four})})
    else:
        raise ValueError(f"unknown claim kind {kind!r}")

    # Critical value and one-sided level per setting: own (fixed claim) or the harness's (sequential claim).
    problems = []
    sequential = looks is not None
    if sequential:
        theirs = design or []
        if len(theirs) != len(settings):
            problems.append(f"design: {len(settings)} settings here, {len(theirs)} in the harness; "
                            f"t_critical/level_per_side matched by position where both exist")
    margin = float(claim["margin"]) if kind == "equal" else None
    for i, raw in enumerate(settings):
        s = t_summary(raw.pop("ds"))
        raw.update(s)
        missing = raw["a_missing"] or raw["b_missing"]
        if sequential:
            u = theirs[i] if i < len(theirs) else {}
            if u and u.get("setting") != raw["label"]:
                problems.append(f"design: setting {i + 1} is {raw['label']!r} here, {u.get('setting')!r} in the "
                                f"harness; its t_critical/level_per_side used anyway")
            raw["tcrit"], raw["level"] = u.get("t_critical"), u.get("level_per_side")
            if raw["n"] >= 2 and raw["tcrit"] is None and not missing:
                problems.append(f"design: setting {raw['label']!r} has n = {raw['n']} here but no t_critical in "
                                f"the harness; no interval computed")
            # A gain-grows step that is not run has no look (the gain does not exist there); any other setting
            # of a sequential claim is at a look (1 until seeds are added). Not fixed by the rules: see header.
            raw["look"] = None if (missing and kind == "gain-grows") else look_of(raw["seeds"], looks)
        else:
            raw["tcrit"], raw["level"], raw["look"] = fixed_tcrit(raw["n"], alpha), alpha, None
        with_interval(raw, raw["tcrit"])
        if kind == "equal":
            raw["outcome"] = judge_equal(raw, raw["a_degen"] or raw["b_degen"], raw["a_missing"],
                                         raw["b_missing"], margin)
        else:
            raw["outcome"] = judge_better_like(raw, raw["a_degen"], raw["b_degen"], raw["a_missing"],
                                               raw["b_missing"], claim)

    # Holm across the settings that were run (invalid ones count in m but have no test).
    run = [s for s in settings if s["outcome"] != "not run"]
    m = len(run)
    for s in settings:
        s["p"] = p_contradicting(s, kind, margin) if s["outcome"] not in ("not run", "invalid") else None
        s["holm"] = False
    testable = [s for s in run if s["p"] is not None and s["level"] is not None and s["level"] > 0]
    with_p = sorted(testable, key=lambda s: s["p"] / s["level"])
    for j, s in enumerate(with_p, start=1):
        if s["p"] <= s["level"] / (m - j + 1):
            s["holm"] = True
        else:
            break

    outs = [s["outcome"] for s in settings]
    if all(o == "not run" for o in outs):
        outcome = "not run"
    elif any(s["outcome"] == "contradicted" and s["holm"] for s in settings):
        outcome = "contradicted"
    elif "invalid" in outs:
        outcome = "invalid"
    elif "not run" in outs:
        outcome = "not run"
    elif all(o == "held" for o in outs):
        outcome = "held"
    else:
        outcome = "inconclusive"
    return outcome, settings, problems


# ---------------------------------------------------------------- driver

def sequential_looks(manifest, profile):
    """The `resolve.looks` list of the chosen profile (profile-level over top-level), or None for a fixed design."""
    if not isinstance(manifest, dict):
        return None
    resolve = manifest.get("resolve")
    prof = (manifest.get("profiles") or {}).get(profile)
    if isinstance(prof, dict) and "resolve" in prof:
        resolve = prof["resolve"]
    if resolve is None:
        return None
    looks = resolve.get("looks") if isinstance(resolve, dict) else None
    if not isinstance(looks, list) or not looks:
        raise ValueError(f"resolve without looks: {resolve!r}")
    return [int(x) for x in looks]


def fnum(x):
    return "-" if x is None else f"{x:.6g}"


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def compare(mine, theirs_doc, strict=False):
    theirs = {(c["experiment"], c["id"]): c for c in theirs_doc.get("claims", [])}
    compared, disagreeing, problems, notes = 0, 0, [], []
    for key, rec in mine.items():
        if rec["skipped"]:
            continue
        t = theirs.get(key)
        if t is None:
            continue
        compared += 1
        diffs = list(rec["problems"])
        if rec["outcome"] != t.get("outcome"):
            diffs.append(f"claim outcome: mine {rec['outcome']!r}, harness {t.get('outcome')!r}")
        ms, ts = rec["settings"], t.get("settings") or []
        if len(ms) != len(ts):
            diffs.append(f"{len(ms)} settings here, {len(ts)} in the harness "
                         f"(mine {[s['label'] for s in ms]}, harness {[s.get('setting') for s in ts]})")
        else:
            mine_labels = [s["label"] for s in ms]
            their_labels = [s.get("setting") for s in ts]
            if sorted(mine_labels) == sorted(their_labels) and mine_labels != their_labels:
                print(f"  note {key[0]}/{key[1]}: settings in a different order; aligned by label")
                by = {s.get("setting"): s for s in ts}
                ts = [by[lb] for lb in mine_labels]
            elif sorted(mine_labels) != sorted(their_labels):
                print(f"  note {key[0]}/{key[1]}: labels differ, aligned by position: {mine_labels} vs {their_labels}")
            for s, u in zip(ms, ts):
                where = f"setting {s['label']!r}"
                if s["n"] != u.get("n"):
                    diffs.append(f"{where}: n mine {s['n']}, harness {u.get('n')}")
                if s["outcome"] != u.get("outcome"):
                    diffs.append(f"{where}: outcome mine {s['outcome']!r}, harness {u.get('outcome')!r}")
                for mk, tk in (("mean", "mean_d"), ("low", "ci_low"), ("high", "ci_high")) + (
                        (("p", "p_contradicted"),) if strict else ()):
                    if not close(s[mk], u.get(tk)):
                        diffs.append(f"{where}: {tk} mine {s[mk]!r}, harness {u.get(tk)!r}")
                if strict and s["holm"] != u.get("holm_rejected"):
                    diffs.append(f"{where}: holm_rejected mine {s['holm']!r}, harness {u.get('holm_rejected')!r}")
                if (s["look"] is None) != (u.get("look") is None) or (strict and s["look"] != u.get("look")):
                    diffs.append(f"{where}: look mine {s['look']!r}, harness {u.get('look')!r}")
                if strict and not rec["sequential"]:
                    if not close(s["level"], u.get("level_per_side")):
                        diffs.append(f"{where}: level_per_side mine {s['level']!r}, harness "
                                     f"{u.get('level_per_side')!r}")
                    if s["outcome"] != "not run" and not close(s["tcrit"], u.get("t_critical")):
                        diffs.append(f"{where}: t_critical mine {s['tcrit']!r}, harness {u.get('t_critical')!r}")
                if strict and rec["sequential"] and s["tcrit"] is not None and s["level"] and s["n"] >= 2:
                    q = fixed_tcrit(s["n"], s["level"])
                    if not close(q, s["tcrit"], 1e-7):
                        notes.append(f"{key[0]}/{key[1]} {where}: t_critical {s['tcrit']!r} is not the t quantile "
                                     f"of level_per_side {s['level']!r} at {s['n'] - 1} df ({q!r})")
        if diffs:
            disagreeing += 1
            problems.append((key, diffs))
    only_mine = sorted(k for k, r in mine.items() if k not in theirs and not r["skipped"])
    only_theirs = sorted(k for k in theirs if k not in mine or mine[k]["skipped"])
    return compared, disagreeing, problems, only_mine, only_theirs, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--diff-json")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--experiment", action="append")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--strict", action="store_true", help="also compare p_contradicted and holm_rejected")
    args = ap.parse_args()
    root = Path(args.root)
    theirs = None
    if args.diff_json:
        with open(args.diff_json) as fh:
            theirs = json.load(fh)
    their_claims = {(c["experiment"], c["id"]): c for c in (theirs or {}).get("claims", [])}

    mine = {}
    for ref in sorted((root / "experiments").glob("*/reference.yaml")):
        name = ref.parent.name
        if args.experiment and name not in args.experiment:
            continue
        with open(ref) as fh:
            refdoc = yaml.safe_load(fh) or {}
        claims = [c for c in (refdoc.get("claims") or [])
                  if c.get("profiles") is None or args.profile in c.get("profiles")]
        if not claims:
            continue
        manifest_path = ref.parent / "manifest.yaml"
        manifest = yaml.safe_load(open(manifest_path)) if manifest_path.exists() else {}
        looks = sequential_looks(manifest, args.profile)
        sequential = looks is not None
        jobs = load_jobs(root / "results" / args.profile / name)
        for c in claims:
            key = (name, c["id"])
            if sequential and key not in their_claims:
                mine[key] = {"sequential": True, "skipped": True, "outcome": None, "settings": [], "problems": []}
                why = "needs --diff-json" if theirs is None else "not in the diff JSON"
                print(f"{name}/{c['id']}  sequential (looks {looks}): {why}, skipped")
                continue
            design = (their_claims[key].get("settings") or []) if sequential else None
            outcome, settings, problems = evaluate_claim(c, jobs, args.alpha, looks, design)
            mine[key] = {"sequential": sequential, "skipped": False, "outcome": outcome, "settings": settings,
                         "problems": problems}
            print(f"{name}/{c['id']}  {outcome}" + (f"  (sequential, looks {looks})" if sequential else ""))
            for s in settings:
                holm = "  holm-rejected" if s["holm"] else ""
                look = f" look={s['look']}" if s["look"] is not None else ""
                print(f"    {s['label']}  n={s['n']} mean={fnum(s['mean'])} low={fnum(s['low'])} "
                      f"high={fnum(s['high'])} p={fnum(s['p'])} level={fnum(s['level'])}{look}  "
                      f"{s['outcome']}{holm}")

    if theirs is None:
        return 0
    if theirs.get("profile") not in (None, args.profile):
        print(f"warning: --diff-json is for profile {theirs.get('profile')!r}, recomputed {args.profile!r}")
    compared, disagreeing, problems, only_mine, only_theirs, notes = compare(mine, theirs, args.strict)
    print()
    for n in notes:
        print(f"note {n}")
    for (exp, cid), diffs in problems:
        print(f"DISAGREE {exp}/{cid}")
        for d in diffs:
            print(f"    {d}")
    if only_mine:
        print(f"not in the harness JSON (not compared): {', '.join(f'{e}/{i}' for e, i in only_mine)}")
    if only_theirs:
        print(f"not recomputed here (not compared): {', '.join(f'{e}/{i}' for e, i in only_theirs)}")
    print(f"{compared} claims compared, {disagreeing} disagree")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
