#!/usr/bin/env python3
"""bench/pandas_match.py WORLD DATE OUT.xlsx - the obvious alternative the pipeline must beat (issue 18).

A straightforward pandas reconciliation of the same files the pipeline reads for one business date of a
generated world (tools/genworld.py --lines): the client-money MT940 statement parsed with regular
expressions, the ledger's cash_movements.csv read with pandas, references taken with the same patterns as
pipeline.conf's [source.bank_client], lines matched to movements on (reference, signed amount, account),
and what is left on either side (unmatched lines, unmatched movements) written to an XLSX workbook with
openpyxl. No database, nothing durable, no completeness gate, no batches, no amount-and-date rule: it is
a floor for "read, join, write", not an equivalent program. Prints "pandas: LINES lines, MOVEMENTS
movements, MATCHED matched, LEFT exceptions".
"""
import re
import sys
from decimal import Decimal

import pandas as pd

PATTERNS = [re.compile(p) for p in (r"(TRF-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)", r"(BATCH-[0-9]{8}-[0-9]{2})",
                                    r"(WD-[0-9]{8})", r"(VA[0-9]{8})")]
LINE61 = re.compile(r"^:61:(\d{6})(\d{4})?(R?[CD])([A-Z]?)(\d+,\d*)(\w{4})([^/\n]*)(?://([^\n]*))?")


def reference(*texts):
    for p in PATTERNS:
        for t in texts:
            m = p.search(t)
            if m:
                return m.group(1)
    return ""


def parse_mt940(path):
    rows, cur, narrative = [], None, []

    def flush():
        if cur is not None:
            text = "".join(narrative)
            cur["narrative"] = text
            cur["reference"] = reference(cur["customer_ref"], text)
            rows.append(cur)

    with open(path, encoding="utf-8") as f:
        in86 = False
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(":61:"):
                flush()
                m = LINE61.match(line)
                mark, amount = m.group(3), Decimal(m.group(5).replace(",", "."))
                minor = int(amount * 100) * (-1 if mark.endswith("D") else 1)
                cur, narrative, in86 = {"amount_minor": minor, "customer_ref": m.group(7),
                                        "bank_ref": m.group(8) or ""}, [], False
            elif line.startswith(":86:"):
                narrative, in86 = [line[4:]], True
            elif line.startswith(":") or line.startswith("-}") or line.startswith("{"):
                in86 = False
            elif in86:
                narrative.append(line)
        flush()
    return pd.DataFrame(rows)


def main():
    world, date, out = sys.argv[1], sys.argv[2], sys.argv[3]
    ymd = date.replace("-", "")
    lines = parse_mt940(f"{world}/statements/{date}/bank/client/stmt_0123456789_{ymd}.sta")
    mov = pd.read_csv(f"{world}/ledger/{date}/cash_movements.csv", dtype=str, keep_default_na=False)
    mov = mov[mov.account_no == "0123456789"].copy()
    sign = mov.direction.map({"CREDIT": 1, "DEBIT": -1})
    mov["amount_minor"] = [int(Decimal(a) * 100) for a in mov.amount] * sign
    lines["line_no"] = range(1, len(lines) + 1)
    # one movement per line: the n-th line with a (reference, amount) pairs with the n-th movement
    lines["k"] = lines.groupby(["reference", "amount_minor"]).cumcount()
    mov["k"] = mov.groupby(["reference", "amount_minor"]).cumcount()
    joined = lines.merge(mov, on=["reference", "amount_minor", "k"], how="outer", indicator=True)
    matched = joined[joined._merge == "both"]
    left = joined[joined._merge != "both"]
    exceptions = pd.DataFrame({
        "type": left._merge.map({"left_only": "UNMATCHED_STATEMENT", "right_only": "UNMATCHED_LEDGER"}),
        "reference": left.reference, "amount": left.amount_minor / 100,
        "line_no": left.line_no, "movement_id": left.movement_id, "narrative": left.narrative})
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        exceptions.to_excel(xw, sheet_name="Exceptions", index=False)
        pd.DataFrame({"matched": [len(matched)], "exceptions": [len(left)]}).to_excel(
            xw, sheet_name="Summary", index=False)
    print(f"pandas: {len(lines)} lines, {len(mov)} movements, {len(matched)} matched, {len(left)} exceptions")


if __name__ == "__main__":
    main()
