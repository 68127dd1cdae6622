#!/usr/bin/python3
"""check_report.py - reads a recon-<DATE>.xlsx back with openpyxl and checks it like a careful
analyst would: sheet names and order, headers, cell types, formats, protection, filters, no
formulas or hyperlinks anywhere, and every Summary figure recomputed from the other sheets.

Usage (run with /usr/bin/python3, which has Debian's python3-openpyxl):
  check_report.py check XLSX DATE       all structural checks + recomputation; prints "ok"
  check_report.py dump XLSX             the workbook's content as JSON, without the cells that
                                        legitimately change on a rerun (generation time, run id)
  check_report.py rows XLSX SHEETBASE   data rows per sheet of a table: "Exceptions=3 Exceptions (2)=3"
Exit status 1 with a message on the first failed check.
"""
import csv
import datetime
import json
import re
import sys
import zipfile
from decimal import Decimal

import openpyxl

SHEETS = ["Summary", "Bank Reconciliation", "Exceptions", "Closed Today", "Matched", "Pending", "Settlements",
          "DABS Issuance", "Statements"]
EXC_HEADERS = ["ID", "Type", "Severity", "Account", "Direction", "Amount", "Currency", "Date", "Age (days)",
               "Reference", "Statement Ref", "Ledger ID", "Owner", "Last Comment", "Detail", "Team Notes"]
AMOUNT_FMT = {2: "#,##0.00;[Red]-#,##0.00", 0: "#,##0;[Red]-#,##0", 3: "#,##0.000;[Red]-#,##0.000"}
EXP = {"SGD": 2, "USD": 2, "JPY": 0, "KRW": 0, "BHD": 3, "XAU": 0}   # XAU: only in a test's currency table
FIRST_DATA = 3   # 1-based: row 1 title, row 2 headers


class Cell:
    """A value from the CSV standing in for an openpyxl cell."""
    def __init__(self, value):
        self.value = value


def fail(msg):
    print("check_report: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def base_of(name):
    return re.sub(r" \(\d+\)$", "", name)


def table_sheets(wb, base):
    return [ws for ws in wb.worksheets if base_of(ws.title) == base]


def headers(ws, row=2):
    out = []
    for c in ws[row]:
        if c.value is None:
            break
        out.append(c.value)
    return out


def table_rows(wb, base, stop_blank=True):
    """Data rows of a table across its continuation sheets, as dicts by header."""
    rows = []
    for ws in table_sheets(wb, base):
        h = headers(ws)
        for r in ws.iter_rows(min_row=FIRST_DATA, values_only=False):
            vals = [c.value for c in r[:len(h)]]
            if all(v is None for v in vals):
                break
            if len(h) > 1 and all(v is None for v in vals[1:]) and isinstance(vals[0], str):
                break   # a note under an empty table
            rows.append(dict(zip(h, r[:len(h)])))
    return rows


def minor(cell, cur):
    """A number cell back to integer minor units (exact for the magnitudes involved)."""
    expect(isinstance(cell.value, (int, float)), "%s%s: amount is not a number: %r" %
           (cell.column_letter, cell.row, cell.value))
    return int((Decimal(repr(cell.value)) * (10 ** EXP[cur])).to_integral_value())


def find_row(ws, text, col=1, start=1):
    for r in range(start, ws.max_row + 1):
        if ws.cell(r, col).value == text:
            return r
    fail("%s: no row with %r in column %d" % (ws.title, text, col))


def block(ws, title):
    """The table under a section title on the Summary: (headers, [row dicts])."""
    r = find_row(ws, title) + 1
    h = headers(ws, r)
    out = []
    r += 1
    while r <= ws.max_row:
        vals = [ws.cell(r, c + 1) for c in range(len(h))]
        if vals[0].value is None:
            break
        out.append(dict(zip(h, vals)))
        r += 1
    return h, out


def check_no_formulas(path):
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                x = z.read(n).decode("utf-8")
                expect("<f>" not in x and "<f " not in x, "%s holds a formula" % n)
                expect("<hyperlink" not in x, "%s holds a hyperlink" % n)
            expect("externalLink" not in n, "workbook has an external link (DDE) part %s" % n)


def check(path, date_iso):
    day = datetime.datetime.strptime(date_iso, "%Y-%m-%d")
    check_no_formulas(path)
    wb = openpyxl.load_workbook(path)

    # Sheet names and order: the named sheets in this order, continuations right after their base.
    names = wb.sheetnames
    bases = []
    for n in names:
        b = base_of(n)
        if not bases or bases[-1] != b:
            expect(b not in bases, "sheet %s is not next to its first part" % n)
            bases.append(b)
    expect(bases == SHEETS, "sheet order %r, expected %r" % (bases, SHEETS))

    p = wb.properties
    expect(p.title == "Reconciliation report " + date_iso, "document title %r" % p.title)
    expect(p.subject and date_iso in p.subject, "document subject %r" % p.subject)
    with zipfile.ZipFile(path) as z:
        app = z.read("docProps/app.xml").decode("utf-8")
    expect("<Company>DABS Platform Pte. Ltd.</Company>" in app, "company property missing")

    for ws in wb.worksheets:
        expect(ws.protection.sheet, "%s is not protected" % ws.title)
        expect(not ws.protection.password, "%s has a password" % ws.title)
        expect(ws.auto_filter.ref or ws.title == "Bank Reconciliation", "%s has no autofilter" % ws.title)
        for row in ws.iter_rows():
            for c in row:
                expect(c.data_type != "f", "%s!%s%s is a formula" % (ws.title, c.column_letter, c.row))
                expect(c.hyperlink is None, "%s!%s%s is a hyperlink" % (ws.title, c.column_letter, c.row))
        if ws.title not in ("Summary", "Bank Reconciliation"):
            expect(ws.freeze_panes == "A3", "%s: header not frozen (%r)" % (ws.title, ws.freeze_panes))
            expect(ws.auto_filter.ref.startswith("A2:"), "%s: autofilter %r" % (ws.title, ws.auto_filter.ref))

    # Exceptions: exact headers, types, formats, order.
    for ws in table_sheets(wb, "Exceptions"):
        expect(headers(ws) == EXC_HEADERS, "Exceptions headers %r" % headers(ws))
    exc = table_rows(wb, "Exceptions")
    sev_rank = {"ERROR": 0, "WARNING": 1}
    keys = [(sev_rank[r["Severity"].value], -r["Age (days)"].value) for r in exc]
    expect(keys == sorted(keys), "Exceptions not sorted by severity then age (oldest first)")
    for r in exc:
        for k in ("Type", "Severity", "Detail"):
            expect(r[k].data_type == "s", "Exceptions %s is not text: %r" % (k, r[k].value))
        if r["Date"].value is not None:
            expect(isinstance(r["Date"].value, datetime.datetime), "Date %r is not a date" % r["Date"].value)
            expect(r["Date"].number_format == "yyyy-mm-dd", "Date format %r" % r["Date"].number_format)
        if r["Amount"].value is not None and r["Currency"].value is None:
            expect(r["Amount"].data_type == "s" and "no currency" in r["Amount"].value,
                   "an amount without currency must say so: %r" % r["Amount"].value)
        elif r["Amount"].value is not None:
            cur = r["Currency"].value
            expect(isinstance(r["Amount"].value, (int, float)), "Amount is not a number")
            expect(r["Amount"].number_format == AMOUNT_FMT[EXP[cur]],
                   "Amount format %r for %s" % (r["Amount"].number_format, cur))
        expect(isinstance(r["Age (days)"].value, (int, float)), "Age is not a number")
        expect(r["Team Notes"].protection.locked is False, "Team Notes is not left editable")
        for k in EXC_HEADERS[:-1]:
            expect(r[k].protection.locked is not False, "Exceptions %s is editable" % k)
        if isinstance(r["Amount"].value, (int, float)):
            expect(r["Direction"].value == ("debit" if r["Amount"].value < 0 else "credit"),
                   "Direction %r for amount %r" % (r["Direction"].value, r["Amount"].value))
    # Text from outside stays text, whatever it starts with.
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                # A leading CR is stored escaped as _x000D_ (Excel decodes it; openpyxl does not).
                if isinstance(c.value, str) and (c.value[:1] in ("=", "+", "-", "@", "\t", "\r")
                                                 or c.value.startswith("_x000D_")):
                    expect(c.data_type == "s", "%s!%s%s not a string" % (ws.title, c.column_letter, c.row))

    # ---- recompute the Summary from the other sheets
    s = wb["Summary"]
    expect(s["A1"].value == "Reconciliation report for business date " + date_iso, "Summary title")
    r = find_row(s, "Business date")
    expect(s.cell(r, 2).value == day, "Summary business date %r" % s.cell(r, 2).value)
    r = find_row(s, "Configuration digest (SHA-256)")
    expect(re.fullmatch(r"[0-9a-f]{64}", s.cell(r, 2).value or ""), "config digest %r" % s.cell(r, 2).value)

    stmts = table_rows(wb, "Statements")
    matched = table_rows(wb, "Matched")
    capped = "row cap" in (wb["Matched"]["A1"].value or "")
    if capped:
        # The sheet shows the first matched_row_cap rows; the full list is the CSV beside it.
        csv_path = re.sub(r"\.xlsx$", "-matched.csv", path)
        with open(csv_path, newline="", encoding="utf-8") as f:
            full = list(csv.DictReader(f))
        expect(len(full) > len(matched), "capped Matched sheet but the CSV is not longer")
        for i, m in enumerate(matched):
            expect(full[i]["Match ID"] == str(m["Match ID"].value), "CSV row %d differs from the sheet" % i)
        matched = [{"Account": Cell(x["Account"]),
                    "Statement Date": Cell(datetime.datetime.strptime(x["Statement Date"], "%Y-%m-%d"))}
                   for x in full]
    pending = table_rows(wb, "Pending")
    ah, accts = block(s, "Accounts (statement continuity; the bank against the books is on the Bank "
                         "Reconciliation sheet)")
    by_acct = {}
    for a in accts:
        if str(a["Account"].value).startswith("Total "):
            continue
        by_acct[a["Account"].value] = a
    # one total per purpose and currency, never across: its label says what it sums
    totals = {}
    for a in accts:
        if str(a["Account"].value).startswith("Total "):
            key = (a["Purpose"].value, a["Currency"].value)
            expect(key not in totals, "two totals for %r" % (key,))
            expect(re.fullmatch(r"Total %s %s \(\d+ accounts?\)" % key, a["Account"].value),
                   "total label %r does not say what it sums" % a["Account"].value)
            totals[key] = a
    sums = {}
    for acc, a in by_acct.items():
        cur = a["Currency"].value
        key = "" if acc == "(none)" else acc
        st = [x for x in stmts if x["Account"].value == key and x["Status"].value in ("PASSED", "BALANCE_BREAK")]
        if st:
            first = min(st, key=lambda x: x["Opening Date"].value)
            last = max(st, key=lambda x: x["Closing Date"].value)
            expect(minor(a["Bank Opening"], cur) == minor(first["Opening"], cur), "%s opening" % acc)
            expect(minor(a["Bank Closing"], cur) == minor(last["Closing"], cur), "%s closing" % acc)
            if a["Opening + Matched"].value is not None:
                expect(minor(a["Difference"], cur) == minor(a["Bank Closing"], cur) - minor(a["Opening + Matched"], cur),
                       "%s difference" % acc)
                expect(minor(a["Continuity Gap"], cur) == minor(a["Difference"], cur) - minor(a["Open Lines"], cur),
                       "%s unexplained" % acc)
        else:
            expect(a["Bank Opening"].value is None, "%s has an opening but no statement" % acc)
        lines = sum(x["Lines"].value for x in st if x["Status"].value == "PASSED")
        expect(a["Lines"].value == lines, "%s lines %r, Statements say %r" % (acc, a["Lines"].value, lines))
        m = sum(1 for x in matched if x["Account"].value == key and x["Statement Date"].value == day)
        expect(a["Matched"].value == m, "%s matched %r, Matched sheet says %r" % (acc, a["Matched"].value, m))
        if lines:
            expect(abs(a["Matched %"].value - m / lines) < 1e-9, "%s matched %%" % acc)
        errs = sum(1 for x in exc if (x["Account"].value or "") == key and x["Severity"].value == "ERROR")
        warns = sum(1 for x in exc if (x["Account"].value or "") == key and x["Severity"].value == "WARNING")
        expect(a["Open Errors"].value == errs, "%s open errors %r vs %r" % (acc, a["Open Errors"].value, errs))
        expect(a["Open Warnings"].value == warns, "%s open warnings" % acc)
        pend = sum(1 for x in pending if x["Account"].value == key)
        expect(a["Pending"].value == pend, "%s pending %r vs %r" % (acc, a["Pending"].value, pend))
        light = "RED" if errs else ("AMBER" if warns or pend else "GREEN")
        expect(a["Status"].value == light, "%s status %r, expected %r" % (acc, a["Status"].value, light))
        if cur:
            t = sums.setdefault((a["Purpose"].value, cur), [0] * 11)
            for j, k in enumerate(("Bank Opening", "Bank Closing", "Opening + Matched", "Difference",
                                   "Open Lines", "Continuity Gap")):
                if a[k].value is not None:
                    t[j] += minor(a[k], cur)
            t[6] += lines
            t[7] += m
            t[8] += errs
            t[9] += warns
            t[10] += pend
    every_exc_account = {(x["Account"].value or "") for x in exc}
    expect(all(("(none)" if k == "" else k) in by_acct for k in every_exc_account),
           "an exception's account is missing from the Summary")
    expect(set(totals) == set(sums), "totals %r for the accounts' purposes and currencies %r"
           % (sorted(totals), sorted(sums)))
    for key, t in sums.items():
        cur = key[1]
        tr = totals.get(key)
        expect(tr is not None, "no Total row for %r" % (key,))
        n_acc = sum(1 for a in by_acct.values() if (a["Purpose"].value, a["Currency"].value) == key)
        expect(tr["Account"].value.endswith("(%d account%s)" % (n_acc, "" if n_acc == 1 else "s")),
               "%r counts %d accounts" % (tr["Account"].value, n_acc))
        for j, k in enumerate(("Bank Opening", "Bank Closing", "Opening + Matched", "Difference",
                               "Open Lines", "Continuity Gap")):
            expect(minor(tr[k], cur) == t[j], "Total %s %s: %r, accounts sum to %r" % (cur, k, tr[k].value, t[j]))
        expect([tr[k].value for k in ("Lines", "Matched", "Open Errors", "Open Warnings", "Pending")] == t[6:],
               "Total %s counts %r vs %r" % (cur, [tr[k].value for k in ("Lines", "Matched", "Open Errors",
                                                    "Open Warnings", "Pending")], t[6:]))

    # Settlements of the day, from the Settlements and DABS Issuance sheets.
    transfers = table_rows(wb, "Settlements")
    iss = table_rows(wb, "DABS Issuance")
    sh, srows = block(s, "Settlements of the day")
    got = {x["Currency"].value: x for x in srows}
    curs = {t["Currency"].value for t in transfers} | {i["Currency"].value for i in iss}
    for cur in curs:
        g = got.get(cur)
        expect(g is not None, "no settlement row for %s" % cur)
        today = [t for t in transfers if t["Currency"].value == cur and t["Business Date"].value == day]
        expect(g["Transfers"].value == len(today), "%s transfers" % cur)
        expect(minor(g["Proceeds Paid"], cur) == sum(minor(t["Amount"], cur) for t in today
                                                     if t["Purpose"].value == "PROCEEDS"), "%s proceeds" % cur)
        expect(minor(g["Fees Paid"], cur) == sum(minor(t["Amount"], cur) for t in today
                                                 if t["Purpose"].value == "FEE"), "%s fees" % cur)
        held = [t for t in transfers if t["Currency"].value == cur and t["Status"].value.startswith("AWAITING_APPROVAL")]
        expect(g["Held (count)"].value == len(held), "%s held count" % cur)
        expect(minor(g["Held Amount"], cur) == sum(minor(t["Amount"], cur) for t in held), "%s held amount" % cur)
        ic = [i for i in iss if i["Currency"].value == cur]
        expect(g["Issuance Records"].value == len(ic), "%s issuance records" % cur)
        expect(g["Units Issued"].value == sum(i["Units"].value for i in ic), "%s units" % cur)
        expect(minor(g["Issued Amount"], cur) == sum(minor(i["Amount"], cur) for i in ic), "%s issued" % cur)

    # Open exceptions by type and age bucket, from the Exceptions sheet.
    th, trows = block(s, "Open exceptions by type and age (business days)")
    def bucket(age):
        return "0-1" if age <= 1 else "2-5" if age <= 5 else "6-30" if age <= 30 else ">30"
    want = {}
    for x in exc:
        w = want.setdefault(x["Type"].value, {"Errors": 0, "Warnings": 0, "0-1": 0, "2-5": 0, "6-30": 0, ">30": 0})
        w["Errors" if x["Severity"].value == "ERROR" else "Warnings"] += 1
        w[bucket(x["Age (days)"].value)] += 1
    gotb = {}
    for t in trows:
        if t["Type"].value == "No open exceptions.":
            continue
        gotb[t["Type"].value] = {k: t[k].value for k in ("Errors", "Warnings", "0-1", "2-5", "6-30", ">30")}
        expect(t["Total"].value == t["Errors"].value + t["Warnings"].value, "%s total" % t["Type"].value)
    expect(gotb == want, "exceptions by type and age %r, Exceptions sheet says %r" % (gotb, want))
    if exc:
        expect(len(s._charts) == 1, "Summary has no chart")
    check_worklists(s, exc, day, purposes={a: by_acct[a]["Purpose"].value for a in by_acct})
    check_bank_rec(wb)
    print("ok")


def bk_block(s, title):
    """A per account-and-currency block of the Summary: {(account, currency): row} (Account, Purpose and
    Currency columns first)."""
    h, rows = block(s, title)
    expect(h[:3] == ["Account", "Purpose", "Currency"], "%s: headers %r" % (title, h))
    out = {}
    for r in rows:
        if isinstance(r["Account"].value, str) and r["Purpose"].value is None and r["Currency"].value is None:
            continue    # the note of an empty block
        key = (r["Account"].value, r["Currency"].value)
        expect(key not in out, "%s: two rows for %r" % (title, key))
        out[key] = r
    return out


def check_worklists(s, exc, day, purposes):
    """The aged counts and sums, the new errors and the day's opened and carried exceptions equal the
    Exceptions sheet, one row per account and currency (so no total mixes purposes or currencies)."""
    def bucket(age):
        return "0-1" if age <= 1 else "2-5" if age <= 5 else "6-30" if age <= 30 else ">30"
    want = {}
    for x in exc:
        acc = x["Account"].value or "(no account)"
        cur = x["Currency"].value if x["Amount"].value is not None else None
        key = (acc, cur or "(no amount)")
        w = want.setdefault(key, {})
        b = bucket(x["Age (days)"].value)
        amt = minor(x["Amount"], cur) if cur else 0
        for k, v in ((b + " (count)", 1), (b + " (sum)", amt)):
            w[k] = w.get(k, 0) + v
        opened_today = x["Age (days)"].value == 0
        mk = "Opened Today" if opened_today else "Carried"
        w[mk] = w.get(mk, 0) + 1
        w[mk + "s"] = w.get(mk + "s", 0) + amt
        if opened_today and x["Severity"].value == "ERROR":
            w["New Errors"] = w.get("New Errors", 0) + 1
            w["New Errorss"] = w.get("New Errorss", 0) + amt
    aged = bk_block(s, "Open exceptions by age (business days): count and sum per account and currency")
    move = bk_block(s, "Day-on-day movement of exceptions (per account and currency)")
    act = bk_block(s, "Needs action today (per account and currency)")
    expect(set(aged) == set(want), "aged rows %r, Exceptions sheet has %r" % (sorted(aged), sorted(want)))
    for key, w in want.items():
        a = aged[key]
        cur = None if key[1] == "(no amount)" else key[1]
        expect((a["Purpose"].value or "") == (purposes.get(key[0]) or ""), "%r: purpose %r" % (key, a["Purpose"].value))
        for b in ("0-1", "2-5", "6-30", ">30"):
            expect(a[b + " (count)"].value == w.get(b + " (count)", 0), "%r: %s count" % (key, b))
            if cur:
                expect(minor(a[b + " (sum)"], cur) == w.get(b + " (sum)", 0), "%r: %s sum %r vs %r" % (
                    key, b, a[b + " (sum)"].value, w.get(b + " (sum)", 0)))
        m = move.get(key)
        expect(m is not None, "%r: no day-on-day row" % (key,))
        expect(m["Opened Today"].value == w.get("Opened Today", 0) and m["Carried"].value == w.get("Carried", 0),
               "%r: opened/carried %r/%r vs %r" % (key, m["Opened Today"].value, m["Carried"].value, w))
        if cur:
            expect(minor(m["Opened (sum)"], cur) == w.get("Opened Todays", 0), "%r: opened sum" % (key,))
            expect(minor(m["Carried (sum)"], cur) == w.get("Carrieds", 0), "%r: carried sum" % (key,))
        n_new = act[key]["New Errors"].value if key in act else 0
        expect(n_new == w.get("New Errors", 0), "%r: new errors %r vs %r" % (key, n_new, w.get("New Errors", 0)))


REC_LINES = ["Balance per bank (closing balance)", "Add: deposits in transit", "Less: outstanding payments",
             "Less: bank items not in the books (net, credits +)", "Adjusted bank balance",
             "Book balance (general ledger)", "Difference (adjusted bank - book)"]
REC_KINDS = [("Deposit in transit", "Total deposits in transit"),
             ("Outstanding payment", "Total outstanding payments"),
             ("Bank item not in the books", "Total bank items not in the books (net)")]


def check_bank_rec(wb):
    """Every bank reconciliation statement adds up: closing + in transit - outstanding - bank items =
    adjusted; adjusted - book = difference; each kind's items sum to their total, and the total is the
    statement's figure; one currency per block; prepared-by and reviewed-by lines under each."""
    ws = wb["Bank Reconciliation"]
    starts = [r for r in range(1, ws.max_row + 1)
              if isinstance(ws.cell(r, 1).value, str) and ws.cell(r, 1).value.startswith("Bank reconciliation: ")]
    expect(starts or any(ws.cell(r, 1).value == "Reconcile has not run for this business date: no statement to show."
                         for r in range(1, ws.max_row + 1)), "Bank Reconciliation: no statement and no reason")
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    expect(breaks == [r - 1 for r in starts[1:]], "one printed page per account: page breaks %r, blocks at %r"
           % (breaks, starts))
    expect(ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9",
           "Bank Reconciliation prints on A4 landscape")
    for i, r0 in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else ws.max_row + 1
        title = ws.cell(r0, 1).value
        m = re.search(r"\(([A-Z_]+), ([A-Z]{3})\)$", title)
        expect(m, "block title %r names purpose and currency" % title)
        cur = m.group(2)
        rows = {ws.cell(r, 1).value: r for r in range(r0, end)}
        signs = [ws.cell(r, 1).value for r in range(r0, end) if isinstance(ws.cell(r, 1).value, str)
                 and ws.cell(r, 1).value.startswith(("Prepared by:", "Reviewed by:"))]
        expect(len(signs) == 2, "%s: prepared-by and reviewed-by lines %r" % (title, signs))
        if "status NO_STATEMENT" in (ws.cell(r0 + 1, 1).value or ""):
            continue
        for k in REC_LINES:
            expect(k in rows, "%s: no line %r" % (title, k))
        v = {}
        for k in REC_LINES:
            c = ws.cell(rows[k], 7)
            v[k] = None if isinstance(c.value, str) else minor(c, cur)
            if v[k] is not None:
                expect(c.number_format == AMOUNT_FMT[EXP[cur]], "%s: %s format %r" % (title, k, c.number_format))
        bank, dit, op, bnb, adj, book, diff = (v[k] for k in REC_LINES)
        expect(bank + dit - op - bnb == adj, "%s: %d + %d - %d - %d != adjusted %d" % (title, bank, dit, op, bnb, adj))
        if book is None:
            expect(ws.cell(rows[REC_LINES[5]], 7).value == "no book balance", "%s: missing book balance not said" % title)
            expect(diff is None, "%s: a difference without a book balance" % title)
        else:
            expect(adj - book == diff, "%s: adjusted %d - book %d != difference %d" % (title, adj, book, diff))
            status = ws.cell(rows[REC_LINES[6]], 2).value
            expect(status == ("AGREED" if diff == 0 else "BOOK_BALANCE_BREAK"), "%s: status %r for difference %d"
                   % (title, status, diff))
        for (kind, total), figure in zip(REC_KINDS, (dit, op, bnb)):
            items = [minor(ws.cell(r, 7), cur) for r in range(r0, end) if ws.cell(r, 1).value == kind]
            tr = [r for r in range(r0, end) if str(ws.cell(r, 1).value).startswith(total + " (")]
            expect(len(tr) == 1, "%s: one %r row" % (title, total))
            expect(ws.cell(tr[0], 1).value.endswith("(%d item%s)" % (len(items), "" if len(items) == 1 else "s")),
                   "%s: %r counts %d items" % (title, ws.cell(tr[0], 1).value, len(items)))
            expect(sum(items) == minor(ws.cell(tr[0], 7), cur) == figure,
                   "%s: %s items sum %d, total %d, statement %d" % (title, kind, sum(items),
                                                                     minor(ws.cell(tr[0], 7), cur), figure))
            for r in range(r0, end):
                if ws.cell(r, 1).value == kind:
                    expect(isinstance(ws.cell(r, 5).value, int) and ws.cell(r, 5).value >= 0, "%s: age of row %d" % (title, r))
                    expect(isinstance(ws.cell(r, 2).value, str) and re.match(r"(line|movement):", ws.cell(r, 2).value),
                           "%s: item id of row %d" % (title, r))


def volatile(ws, r, c):
    """Cells that change on every run: generation time and the run id."""
    if ws.title != "Summary":
        return False
    label = ws.cell(r, 1).value
    return (r == 2 and c == 1) or (c == 2 and label in ("Report generated", "Report run")) or \
        (c == 5 and ws.cell(find_row(ws, "Inputs (files fetched for this business date)") + 1, 5).value == "Fetched At"
         and r > find_row(ws, "Inputs (files fetched for this business date)") + 1)


def dump(path):
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = []
        for row in ws.iter_rows():
            vals = []
            for c in row:
                v = c.value
                if volatile(ws, c.row, c.column):
                    v = "<volatile>"
                elif isinstance(v, datetime.datetime):
                    v = v.isoformat()
                vals.append([v, c.number_format])
            rows.append(vals)
        out[ws.title] = rows
    json.dump(out, sys.stdout, sort_keys=True, indent=0)


def rows(path, base):
    wb = openpyxl.load_workbook(path)
    parts = []
    for ws in table_sheets(wb, base):
        h = headers(ws)
        n = 0
        for r in ws.iter_rows(min_row=FIRST_DATA, values_only=True):
            r = r[:len(h)]
            if all(v is None for v in r):
                break
            if len(h) > 1 and all(v is None for v in r[1:]) and isinstance(r[0], str):
                break   # the note under an empty table, or the block under Settlements
            n += 1
        parts.append("%s=%d" % (ws.title, n))
    print(" ".join(parts))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "rows":
        rows(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
