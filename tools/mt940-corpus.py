#!/usr/bin/env python3
"""mt940-corpus.py - runs `pipeline inspect` over a corpus of MT940 files and scores it against the
expected results kept beside each file, field by field.

    tools/mt940-corpus.py [--pipeline ./pipeline] [--source NAME] [--min-statements P]
                          [--min-lines P] [-v] DIR...

For every FILE.sta (also .940, .mt940, .txt) under each DIR, the expected result is, first found:
  FILE.jsonl  this project's inspect output: the same records in the same order; every key given
              must be equal (keys not given are not compared, so a newer inspect may add keys);
  FILE.err    the file must be refused: exit 1 and standard error equal to this text (with the
              "pipeline: inspect: " prefix removed);
  FILE.yml    the expected result of the WoLpH/mt940 Python library's test corpus (a pickled
              mt940.models.Transactions): its transactions are compared as lines (value date, entry
              date, mark, funds code, signed amount and currency, type code, customer and bank
              reference, supplementary details, and the decoded :86: parts it names), and its
              statement data (account, statement and sequence number, final opening and closing
              balance) with the file's last statement; a .yml without a complete statement (a
              fragment without :20: or a closing balance) is counted as an invalid file: the
              pipeline loads only complete statements, so it must be refused;
  FILE.wolph.json  the same, transcribed from such a .yml into {"statement": {...} or null,
              "lines": [...]} in this project's field names;
  A line's narrative is compared with their transaction_details ("narrative_lines": its lines):
  it must be those lines joined with nothing in between, except that spaces may stand where one
  of their lines ends (WoLpH strips the trailing spaces of each :86: line and keeps the line
  breaks; the pipeline keeps the text exactly as sent, only dropping padding to 65);
  Their model is flat (one set of statement fields per file, each the last value seen): the
  opening balance is compared with the last statement that has a final (:60F:) opening, the
  closing balance with the last that has a final (:62F:) closing, the account and numbers with
  the last statement;
  none        the file is run (a crash still counts) but not scored.
A crash is an exit status other than 0 and 1, a signal, or output that is not JSON Lines.

Prints one line per file, then the totals: statements and lines exactly right, invalid files
refused, crashes. Exit 0 if the bars are met (defaults: 95% of statements, 98% of lines, every
invalid file refused, no crash), else 1.
"""
import argparse
import base64
import datetime
import decimal
import json
import os
import subprocess
import sys

EXTS = (".sta", ".940", ".mt940", ".txt")


def run_inspect(pipeline, source, path):
    cmd = [pipeline, "inspect", "--format", "mt940"]
    if source:
        cmd += ["--source", source]
    p = subprocess.run(cmd + [path], capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    recs = None
    if p.returncode == 0:
        try:
            recs = [json.loads(l) for l in out.splitlines() if l.strip()]
        except ValueError:
            return p.returncode, None, err, True
    return p.returncode, recs, err, p.returncode not in (0, 1)


# ---- WoLpH/mt940 expected results (PyYAML with the python/object tags read as plain data) ----

def load_wolph(path):
    import yaml

    class L(yaml.SafeLoader):
        pass

    def obj(loader, suffix, node):
        data = {}
        yield data
        if isinstance(node, yaml.MappingNode):
            data.update(loader.construct_mapping(node, deep=True))

    def apply(loader, suffix, node):
        args = loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode) else []
        if suffix == "decimal.Decimal":
            return decimal.Decimal(args[0])
        if suffix.endswith(".Date") or suffix == "datetime.date":
            b = args[0]
            if isinstance(b, str):
                b = base64.b64decode(b)
            return datetime.date(b[0] * 256 + b[1], b[2], b[3])
        return None

    def name(loader, suffix, node):
        return suffix

    L.add_multi_constructor("tag:yaml.org,2002:python/object:", obj)
    L.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", apply)
    L.add_multi_constructor("tag:yaml.org,2002:python/object/new:", apply)
    L.add_multi_constructor("tag:yaml.org,2002:python/name:", name)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=L)


def minor(amount, exponent):
    return int((amount * (10 ** exponent)).to_integral_value())


def iso(d):
    return d.isoformat() if isinstance(d, datetime.date) else None


def s(v):
    return "" if v is None else str(v)


EXPONENT = {}


def exponent_of(cur):
    # the pipeline's own currency table: the same exponents as inspect uses
    if not EXPONENT:
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "src", "currencies.inc")) as f:
            for line in f:
                if line.startswith('{ "'):
                    EXPONENT[line[3:6]] = int(line.split(",")[1].strip(" }\n"))
    return EXPONENT.get(cur, 2)


def balance_exp(b):
    a = b["amount"]
    cur = a["currency"]
    return {"date": iso(b["date"]), "amount_minor": minor(a["amount"], exponent_of(cur))}


def wolph_expected(y):
    """(statement dict or None, [line dicts]) in this project's field names."""
    data = y.get("data", {})
    stmt = None
    if "final_closing_balance" in data and "final_opening_balance" in data:
        stmt = {
            "account": s(data.get("account_identification")),
            "statement_no": s(data.get("statement_number")),
            "opening": balance_exp(data["final_opening_balance"]),
            "closing": balance_exp(data["final_closing_balance"]),
        }
        if data.get("sequence_number") is not None:
            stmt["sequence_no"] = s(data.get("sequence_number"))
    lines = []
    for t in y.get("transactions", []) or []:
        d = t.get("data", {})
        if "amount" not in d:
            continue
        a = d["amount"]
        cur = a["currency"]
        ln = {
            "value_date": iso(d.get("date")),
            "amount_minor": minor(a["amount"], exponent_of(cur)),
            "currency": cur,
            "mark": s(d.get("status")),
            "funds_code": s(d.get("funds_code")),
            "type_code": s(d.get("id")).rstrip(),
            "customer_ref": s(d.get("customer_reference")),
            "bank_ref": s(d.get("bank_reference")),
        }
        if d.get("entry_date") is not None:
            ln["entry_date"] = iso(d.get("entry_date"))
        if d.get("extra_details") is not None:
            ln["supplementary"] = s(d.get("extra_details"))
        if d.get("transaction_details") is not None:
            ln["narrative_lines"] = s(d.get("transaction_details")).replace("\r", "").split("\n")
        det = {}
        for theirs, ours in (("applicant_name", "counterparty_name"), ("applicant_iban", "counterparty_account"),
                             ("applicant_bin", "counterparty_bic"), ("posting_text", "posting_text"),
                             ("end_to_end_reference", "end_to_end_ref"), ("transaction_code", "code")):
            if d.get(theirs) is not None:
                det[ours] = s(d.get(theirs))
        if det:
            ln["details"] = det
        lines.append(ln)
    return stmt, lines


# ---- comparison ----

def narrative_ok(lines, got):
    """got is the lines joined as sent, with spaces allowed only where one of them ends."""
    import re
    return isinstance(got, str) and re.fullmatch(" *".join(re.escape(l) for l in lines), got) is not None


def sub_equal(exp, got, path=""):
    """Every key of exp equal in got; returns the list of differing paths."""
    if isinstance(exp, dict) and "narrative_lines" in exp:
        rest = {k: v for k, v in exp.items() if k != "narrative_lines"}
        bad = sub_equal(rest, got, path)
        if not narrative_ok(exp["narrative_lines"], got.get("narrative") if isinstance(got, dict) else None):
            bad.append(path + ".narrative")
        return bad
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            return [path or "."]
        bad = []
        for k, v in exp.items():
            bad += sub_equal(v, got.get(k, None) if isinstance(got, dict) else None, path + "." + k)
        return bad
    return [] if exp == got else [path]


def score_jsonl(exp_recs, got):
    st = [0, 0]
    ln = [0, 0]
    diffs = []
    kinds = [r.get("kind") for r in exp_recs]
    for i, e in enumerate(exp_recs):
        g = got[i] if got is not None and i < len(got) else None
        bad = sub_equal(e, g) if g is not None else ["missing"]
        c = st if e.get("kind") == "statement" else ln if e.get("kind") == "line" else None
        if c is not None:
            c[1] += 1
            c[0] += not bad
        if bad:
            diffs.append("record %d (%s): %s" % (i + 1, e.get("kind"), ", ".join(bad[:4])))
    if got is not None and len(got) != len(exp_recs):
        diffs.append("%d records, expected %d" % (len(got), len(kinds)))
    return st, ln, diffs


def score_wolph(stmt, lines, got):
    st = [0, 0]
    ln = [0, 0]
    diffs = []
    gs = [r for r in got if r.get("kind") == "statement"] if got else []
    gl = [r for r in got if r.get("kind") == "line"] if got else []
    if stmt is not None:
        st[1] = 1
        bad = ["no statement"]
        if gs:
            fo = [g for g in gs if not g.get("opening", {}).get("intermediate")] or gs
            fc = [g for g in gs if not g.get("closing", {}).get("intermediate")] or gs
            merged = dict(gs[-1], opening=fo[-1].get("opening"), closing=fc[-1].get("closing"))
            bad = sub_equal(stmt, merged)
        st[0] = int(not bad)
        if bad:
            diffs.append("last statement: " + ", ".join(bad[:4]))
    for i, e in enumerate(lines):
        ln[1] += 1
        g = gl[i] if i < len(gl) else None
        bad = sub_equal(e, g) if g is not None else ["missing"]
        ln[0] += not bad
        if bad:
            diffs.append("line %d: %s" % (i + 1, ", ".join("%s=%r (expected %r)" % (
                b, dig(g, b), dig(e, b)) for b in bad[:3])))
    if got is not None and len(gl) != len(lines):
        diffs.append("%d lines, expected %d" % (len(gl), len(lines)))
    return st, ln, diffs


def dig(d, path):
    for k in path.strip(".").split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pipeline", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline"))
    ap.add_argument("--source", default=None, help="inspect --source NAME (reference patterns)")
    ap.add_argument("--min-statements", type=float, default=95.0)
    ap.add_argument("--min-lines", type=float, default=98.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()

    files = []
    for d in a.dirs:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in sorted(names) if n.lower().endswith(EXTS)]
    tot_st = [0, 0]
    tot_ln = [0, 0]
    invalid = [0, 0]
    crashes = 0
    unscored = 0
    for f in sorted(files):
        base = os.path.splitext(f)[0]
        rc, got, err, crashed = run_inspect(a.pipeline, a.source, f)
        crashes += crashed
        note = "crash (exit %d)" % rc if crashed else ""
        st = ln = [0, 0]
        diffs = []
        if os.path.exists(base + ".jsonl"):
            with open(base + ".jsonl", encoding="utf-8") as fh:
                exp = [json.loads(l) for l in fh if l.strip()]
            st, ln, diffs = score_jsonl(exp, got)
            if rc != 0:
                diffs.insert(0, "refused: " + err.strip())
        elif os.path.exists(base + ".err"):
            with open(base + ".err", encoding="utf-8") as fh:
                want = fh.read().strip()
            invalid[1] += 1
            msg = err.strip().replace("pipeline: inspect: ", "", 1)
            ok = rc == 1 and msg == want
            invalid[0] += ok
            if not ok:
                diffs.append("expected refusal [%s], got exit %d [%s]" % (want, rc, msg))
        elif os.path.exists(base + ".yml") or os.path.exists(base + ".wolph.json"):
            if os.path.exists(base + ".wolph.json"):
                with open(base + ".wolph.json", encoding="utf-8") as fh:
                    w = json.load(fh)
                stmt, lines = w.get("statement"), w.get("lines", [])
            else:
                stmt, lines = wolph_expected(load_wolph(base + ".yml"))
            if stmt is None:
                invalid[1] += 1
                invalid[0] += rc == 1
                if rc != 1:
                    diffs.append("their expected result has no complete statement; accepted here")
                else:
                    note = note or "refused: " + err.strip().replace("pipeline: inspect: ", "", 1)[:110]
            else:
                st, ln, diffs = score_wolph(stmt, lines, got)
                if rc != 0:
                    diffs.insert(0, "refused: " + err.strip())
        else:
            unscored += 1
            note = note or ("accepted" if rc == 0 else "refused") + " (no expected result)"
        for i in range(2):
            tot_st[i] += st[i]
            tot_ln[i] += ln[i]
        status = "ok  " if not diffs and not crashed else "DIFF"
        print("%s %s: statements %d/%d, lines %d/%d %s" % (status, f, st[0], st[1], ln[0], ln[1], note))
        for d in diffs[: (20 if a.verbose else 3)]:
            print("       " + d)

    def pct(x):
        return 100.0 * x[0] / x[1] if x[1] else 100.0

    print("statements exactly right: %d/%d (%.1f%%)" % (tot_st[0], tot_st[1], pct(tot_st)))
    print("lines exactly right:      %d/%d (%.1f%%)" % (tot_ln[0], tot_ln[1], pct(tot_ln)))
    print("invalid files refused:    %d/%d" % (invalid[0], invalid[1]))  # incl. fragments
    print("crashes:                  %d" % crashes)
    if unscored:
        print("files without an expected result: %d (run, not scored)" % unscored)
    ok = pct(tot_st) >= a.min_statements and pct(tot_ln) >= a.min_lines and invalid[0] == invalid[1] and crashes == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
