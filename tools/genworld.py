#!/usr/bin/env python3
"""genworld.py - writes the fixture world of the DABS reconciliation pipeline.

One generator for two jobs:

  python3 tools/genworld.py --demo --out fixtures
      The small committed world (fixed seed): three business days 2026-11-23..25, ~200 investors,
      three offerings, ledger extracts, bank and trustee statements with six deliberate problems,
      the expected results of a correct run, and fixtures/README.md. Byte for byte reproducible.

  python3 tools/genworld.py --lines N --out DIR [--seed S] [--days D]
      A large consistent world of about N statement lines in the same layout (ledger extract +
      statements), with a few per cent of each kind of break, for benchmarks. Streams: memory does
      not grow with N.

  python3 tools/genworld.py --mt940-lines N FILE [--seed S]
  python3 tools/genworld.py --csv-lines N FILE [--seed S]
  python3 tools/genworld.py --camt053-lines N FILE [--seed S]
      One big single-account statement (MT940, or the "sgbank-corp" CSV layout) for parser benchmarks.

  python3 tools/genworld.py --check DIR
      Parse-checks every statement under DIR/statements (opening + lines = closing, running
      balances, consecutive statement numbers, balances carried from day to day, proper endings).

Money is always an int count of minor units (SGD, exponent 2); no float anywhere.
Standard library only.
"""

import argparse
import datetime as dt
import os
import random
import re
import shutil
import sys

CLIENT = "0123456789"
OPERATING = "0123456790"
TRUSTEE = "8800123456"
CURRENCY = "SGD"
HOLIDAYS = {dt.date(2026, 12, 25), dt.date(2027, 1, 1), dt.date(2027, 2, 6), dt.date(2027, 2, 8)}
DEMO_DAYS = [dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)]
DEMO_SEED = 20261123
FEE_BPS = 150
FOUR_EYES_LIMIT = 500000000  # SGD 5,000,000.00 in minor units (pipeline.conf [settle])
CLIENT_BIC = "DBSSSGSGXXX"
TRUSTEE_BANK_BIC = "HSBCSGSGXXX"
PLATFORM_LT = "DABSSGS1AXXX"

LEDGER_HEADERS = {
    "accounts.csv": "account_no,currency,purpose,name",
    "investors.csv": "investor_id,name,virtual_account,status",
    "balances.csv": "account_no,as_of_date,book_balance",
    "cash_movements.csv": "movement_id,account_no,direction,amount,currency,expected_date,reference,kind,investor_id,batch_id",
    "offerings.csv": "offering_id,name,currency,unit_price,units_offered,min_units,subscription_open,subscription_close,settlement_date,fee_bps,trustee_account_no",
    "subscriptions.csv": "subscription_id,offering_id,investor_id,units,subscribed_at,status",
    "holdings.csv": "as_of_date,offering_id,investor_id,units",
}
ACCOUNT_ROWS = [
    (CLIENT, CURRENCY, "CLIENT_MONEY", "DABS Platform Pte Ltd Client Money Account"),
    (OPERATING, CURRENCY, "OPERATING", "DABS Platform Pte Ltd Operating Account"),
    (TRUSTEE, CURRENCY, "TRUSTEE", "Perpetual Harbour Trustees Ltd DABS Trust Account"),
]
REGISTER_HEADER = "as_of_date,offering_id,investor_id,units"
CSV_COLUMNS = '"Transaction Date","Value Date","Description","Reference","Withdrawal","Deposit","Balance"'

# ---------------------------------------------------------------------------------------------
# Money and dates


# Each account's opening balance on its first statement (2026-11-20), which is also where the books stand
# before the movements of the extracts (the deposit expected 2026-11-18 aside, which the books hold).
OPENING_BALANCES = {CLIENT: 1843756215, OPERATING: 125000000, TRUSTEE: 348021540}
# Problem 7: the book balance the ledger reports for the operating account on 2026-11-25 includes a
# vendor payment booked in the general ledger that is missing from that day's cash_movements.csv.
BOOK_ERROR = {"day": dt.date(2026, 11, 25), "account": OPERATING, "movement": "OP-20261125-0001",
              "amount": 123456, "what": "a vendor payment (DEBIT) booked in the general ledger"}


def major(minor):
    """1500.00 style (ledger CSV): minor units -> decimal string in major units."""
    sign = "-" if minor < 0 else ""
    m = abs(minor)
    return "%s%d.%02d" % (sign, m // 100, m % 100)


def mt940_amount(minor):
    """MT940 amount: no sign, comma decimal separator, no thousands separator."""
    assert minor >= 0
    return "%d,%02d" % (minor // 100, minor % 100)


def thousands(minor):
    """1,250,000.00 style (sgbank-corp CSV)."""
    sign = "-" if minor < 0 else ""
    m = abs(minor)
    return "%s%s.%02d" % (sign, "{:,}".format(m // 100), m % 100)


def is_business_day(d):
    return d.weekday() < 5 and d not in HOLIDAYS


def next_business_day(d):
    d += dt.timedelta(days=1)
    while not is_business_day(d):
        d += dt.timedelta(days=1)
    return d


def prev_business_day(d):
    d -= dt.timedelta(days=1)
    while not is_business_day(d):
        d -= dt.timedelta(days=1)
    return d


def add_business_days(d, n):
    for _ in range(n):
        d = next_business_day(d)
    return d


def yymmdd(d):
    return d.strftime("%y%m%d")


def ddmmyyyy(d):
    return d.strftime("%d/%m/%Y")


def bank_ref(d, seq):
    """The bank's own reference, unique per line: FT + yy + day of year + 6-digit sequence."""
    return "FT%02d%03d%06d" % (d.year % 100, d.timetuple().tm_yday, seq)


# ---------------------------------------------------------------------------------------------
# Writers


class Out:
    """A text file written with exact bytes (newline='' so CRLF stays CRLF), UTF-8."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        self.tmp = path + ".tmp"
        self.f = open(self.tmp, "w", encoding="utf-8", newline="")
        self.write = self.f.write

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)


def write_text(path, text):
    o = Out(path)
    o.write(text)
    o.close()


def csv_text(header, rows):
    """Plain comma-separated text with LF endings (no field of ours needs quoting)."""
    out = [header + "\n"]
    for r in rows:
        for v in r:
            s = str(v)
            assert "," not in s and '"' not in s and "\n" not in s, s
        out.append(",".join(str(v) for v in r) + "\n")
    return "".join(out)


class MT940Writer:
    """Streams one MT940 statement (envelope, :20: .. :64:, -}) with CRLF line ends."""

    def __init__(self, out, *, sender_lt, account, stmt_no, opening_date, opening, day, seq_ref):
        self.o = out
        self.day = day
        self.balance = opening
        self.count = 0
        arrive = day + dt.timedelta(days=1)
        mir = "%s%s0000%06d" % (yymmdd(arrive), sender_lt, stmt_no % 1000000)
        out.write("{1:F01%s0000000000}{2:O9400615%s%s0615N}{4:\r\n" % (PLATFORM_LT, mir, yymmdd(arrive)))
        out.write(":20:%s\r\n" % seq_ref)
        out.write(":25:%s\r\n" % account)
        out.write(":28C:%05d/1\r\n" % stmt_no)
        out.write(":60F:%s%s%s%s\r\n" % ("C" if opening >= 0 else "D", yymmdd(opening_date), CURRENCY,
                                          mt940_amount(abs(opening))))

    def line(self, *, mark, amount, cust_ref, bref, narrative):
        assert amount > 0 and mark in ("C", "D")
        assert len(cust_ref) <= 16 and len(bref) <= 16
        d = self.day
        self.o.write(":61:%s%s%s%sNTRF%s//%s\r\n" % (yymmdd(d), d.strftime("%m%d"), mark, mt940_amount(amount),
                                                    cust_ref, bref))
        assert 1 <= len(narrative) <= 6
        for i, n in enumerate(narrative):
            assert len(n) <= 65 and n == n.strip() and n.isascii(), n
            self.o.write((":86:" if i == 0 else "") + n + "\r\n")
        self.balance += amount if mark == "C" else -amount
        self.count += 1

    def finish(self):
        b = self.balance
        bal = "%s%s%s%s" % ("C" if b >= 0 else "D", yymmdd(self.day), CURRENCY, mt940_amount(abs(b)))
        self.o.write(":62F:%s\r\n:64:%s\r\n-}\r\n" % (bal, bal))
        return b


class SgbankCsvWriter:
    """Streams one "sgbank-corp" CSV statement: every field quoted, CRLF, running balance."""

    def __init__(self, out, *, account, stmt_no, day, opening):
        self.o = out
        self.day = day
        self.balance = opening
        self.count = 0
        out.write('"Account Statement"\r\n')
        out.write('"Account Number","%s"\r\n' % account)
        out.write('"Currency","%s"\r\n' % CURRENCY)
        out.write('"Statement Number","%05d"\r\n' % stmt_no)
        out.write('"Statement Date","%s"\r\n' % ddmmyyyy(day))
        out.write('"Opening Balance","%s"\r\n' % thousands(opening))
        out.write(CSV_COLUMNS + "\r\n")

    def line(self, *, mark, amount, description, bref):
        assert amount > 0 and '"' not in description
        self.balance += amount if mark == "C" else -amount
        wd = thousands(amount) if mark == "D" else ""
        dep = thousands(amount) if mark == "C" else ""
        d = ddmmyyyy(self.day)
        self.o.write('"%s","%s","%s","%s","%s","%s","%s"\r\n' % (d, d, description, bref, wd, dep,
                                                               thousands(self.balance)))
        self.count += 1

    def finish(self):
        self.o.write('"Closing Balance","%s"\r\n' % thousands(self.balance))
        return self.balance


def pain002_report(*, msg_id, created, orig_msg_id, grp_sts=None, txs=()):
    """A pain.002.001.03 status report (LF, two-space indentation) about our payment message
    orig_msg_id (DABS-PAY-<YYYYMMDD>-<NN>, the MsgId settle gives the first payment file of a date).
    txs: (end_to_end_id, status, acceptance time or None), all in the one SGD payment information
    block "<orig_msg_id>-SGD" (formats/pain001.c)."""
    o = ['<?xml version="1.0" encoding="UTF-8"?>',
         '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">',
         '  <CstmrPmtStsRpt>',
         '    <GrpHdr>',
         '      <MsgId>%s</MsgId>' % msg_id,
         '      <CreDtTm>%s</CreDtTm>' % created,
         '      <DbtrAgt>',
         '        <FinInstnId>',
         '          <BIC>%s</BIC>' % CLIENT_BIC,
         '        </FinInstnId>',
         '      </DbtrAgt>',
         '    </GrpHdr>',
         '    <OrgnlGrpInfAndSts>',
         '      <OrgnlMsgId>%s</OrgnlMsgId>' % orig_msg_id,
         '      <OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>']
    if grp_sts:
        o.append('      <GrpSts>%s</GrpSts>' % grp_sts)
    o.append('    </OrgnlGrpInfAndSts>')
    if txs:
        o += ['    <OrgnlPmtInfAndSts>', '      <OrgnlPmtInfId>%s-%s</OrgnlPmtInfId>' % (orig_msg_id, CURRENCY)]
        for e2e, sts, when in txs:
            o += ['      <TxInfAndSts>', '        <OrgnlEndToEndId>%s</OrgnlEndToEndId>' % e2e,
                  '        <TxSts>%s</TxSts>' % sts]
            if when:
                o.append('        <AccptncDtTm>%s</AccptncDtTm>' % when)
            o.append('      </TxInfAndSts>')
        o.append('    </OrgnlPmtInfAndSts>')
    o += ['  </CstmrPmtStsRpt>', '</Document>', '']
    return "\n".join(o)


def statement_paths(root, day):
    ymd = day.strftime("%Y%m%d")
    base = os.path.join(root, day.isoformat())
    return {
        "client": os.path.join(base, "bank", "client", "stmt_%s_%s.sta" % (CLIENT, ymd)),
        "operating": os.path.join(base, "bank", "operating", "acct_%s_%s.csv" % (OPERATING, ymd)),
        "trustee": os.path.join(base, "trustee", "cash", "trustee_%s_%s.sta" % (TRUSTEE, ymd)),
        "register": os.path.join(base, "trustee", "register", "register_%s.csv" % ymd),
        "status": os.path.join(base, "bank", "status", "pain002_%s_01.xml" % ymd),
    }


# ---------------------------------------------------------------------------------------------
# Names

CN_SUR = ["TAN", "LIM", "LEE", "NG", "ONG", "WONG", "GOH", "CHUA", "CHAN", "KOH", "TEO", "ANG", "YEO", "TAY",
          "HO", "LOW", "TOH", "SIM", "CHONG", "CHIA", "FOO", "SEAH", "QUEK", "KWEK", "LOH", "PHUA", "YAP",
          "LAU", "HENG", "CHEW"]
CN_GIVEN = ["AH KOW", "WEI MING", "MEI LING", "JUN JIE", "XIN YI", "BOON HUAT", "HUI MIN", "KAI WEN",
            "SIEW LAN", "CHEE KEONG", "LI TING", "ZHI HAO", "PEI SHAN", "YONG SHENG", "SHU FEN", "KENG HOCK",
            "WAN TING", "JIA HUI", "GUAN HOE", "SOOK CHING"]
MY_M = ["MUHAMMAD HAFIZ", "AHMAD FAIZAL", "MOHAMED IQBAL", "HARIS", "ZULKIFLI", "IRFAN", "FIRDAUS"]
MY_F = ["NURUL AISYAH", "SITI NURHALIZA", "NUR FARHANA", "FATIMAH", "SHAHIRAH", "AQILAH", "HIDAYAH"]
MY_FATHER = ["AHMAD", "ISMAIL", "RAHMAN", "OSMAN", "YUSOF", "HAMID", "SALLEH", "ABDULLAH"]
IN_M = ["RAJESH", "ARUN", "SURESH", "VIKRAM", "GANESH", "PRAKASH", "SANJAY"]
IN_F = ["PRIYA", "KAVITHA", "DEEPA", "ANJALI", "LAKSHMI", "MEENA", "DIVYA"]
IN_FATHER = ["KUMAR", "RAMASAMY", "SUBRAMANIAM", "KRISHNAN", "PILLAI", "NAIR", "MUTHU", "GOVINDASAMY"]
WEST_GIVEN = ["DAVID", "SARAH", "JAMES", "EMMA", "OLIVER", "THOMAS", "SOPHIE", "DANIEL", "HANNAH", "LUCAS"]
WEST_SUR = ["MILLER", "THOMPSON", "WALKER", "HUGHES", "MUELLER", "ROSSI", "NAKAMURA", "KIM", "PARK", "DUBOIS"]


def make_name(rng):
    """Returns (ledger name in mixed case, bank narrative name in upper-case ASCII)."""
    k = rng.randrange(10)
    if k < 6:
        up = "%s %s" % (rng.choice(CN_SUR), rng.choice(CN_GIVEN))
    elif k < 8:
        if rng.randrange(2):
            up = "%s BIN %s" % (rng.choice(MY_M), rng.choice(MY_FATHER))
        else:
            up = "%s BINTE %s" % (rng.choice(MY_F), rng.choice(MY_FATHER))
    elif k < 9:
        if rng.randrange(2):
            up = "%s S/O %s" % (rng.choice(IN_M), rng.choice(IN_FATHER))
        else:
            up = "%s D/O %s" % (rng.choice(IN_F), rng.choice(IN_FATHER))
    else:
        up = "%s %s" % (rng.choice(WEST_GIVEN), rng.choice(WEST_SUR))
    words = []
    for w in up.split(" "):
        if w in ("S/O", "D/O"):
            words.append(w.lower())
        elif w in ("BIN", "BINTE"):
            words.append(w.lower())
        else:
            words.append(w.capitalize())
    return " ".join(words), up


# ---------------------------------------------------------------------------------------------
# Settlement rule (computed independently of the C code, from the text)


def allocate(offering, subs):
    """Returns (outcome, {subscription_id: allocated}) for the ACTIVE subscriptions of one offering."""
    active = [s for s in subs if s["status"] == "ACTIVE"]
    total = sum(s["units"] for s in active)
    offered = offering["units_offered"]
    if total < offering["min_units"]:
        return "FAILED", {s["id"]: 0 for s in active}, []
    if total <= offered:
        return "FULL", {s["id"]: s["units"] for s in active}, []
    alloc = {}
    rems = []
    for s in active:
        alloc[s["id"]] = s["units"] * offered // total
        rems.append(((s["units"] * offered) % total, s))
    left = offered - sum(alloc.values())
    order = sorted(rems, key=lambda t: (-t[0], t[1]["at_utc"], t[1]["id"]))
    for rem, s in order[:left]:
        alloc[s["id"]] += 1
    assert sum(alloc.values()) == offered
    assert all(alloc[s["id"]] <= s["units"] for s in active)
    return "PRO_RATA", alloc, [(rem, s, i < left) for i, (rem, s) in enumerate(order)]


def settle(offering, subs):
    outcome, alloc, order = allocate(offering, subs)
    price = offering["price"]
    requested = sum(s["units"] for s in subs if s["status"] == "ACTIVE")
    allocated = sum(alloc.values())
    gross = allocated * price
    fee = gross * offering["fee_bps"] // 10000
    proceeds = gross - fee
    refunded = (requested - allocated) * price
    return {
        "offering_id": offering["id"], "outcome": outcome, "requested": requested, "allocated": allocated,
        "refunded": refunded, "gross": gross, "fee": fee, "proceeds": proceeds, "alloc": alloc, "order": order,
    }


# ---------------------------------------------------------------------------------------------
# The demo world


def ts(d, h, m, s):
    return "%sT%02d:%02d:%02d+08:00" % (d.isoformat(), h, m, s)


class Demo:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.used_amounts = set()
        self.wd_seq = 10452000
        self.ft_seq = {}

    # -- helpers --------------------------------------------------------------------------
    def unique_amount(self, lo, hi, round_to=1):
        rng = self.rng
        while True:
            a = rng.randrange(lo // round_to, hi // round_to + 1) * round_to
            if a not in self.used_amounts:
                self.used_amounts.add(a)
                return a

    def next_wd(self):
        self.wd_seq += self.rng.randrange(1, 40)
        return "WD-%08d" % self.wd_seq

    def next_ft(self, d):
        self.ft_seq[d] = self.ft_seq.get(d, 0) + self.rng.randrange(1, 25)
        return bank_ref(d, self.ft_seq[d])

    # -- world ----------------------------------------------------------------------------
    def build(self):
        rng = self.rng
        d1, d2, d3 = DEMO_DAYS
        # Investors
        self.investors = []
        vas = set()
        for i in range(1, 201):
            name, up = make_name(rng)
            if i == 7:
                name, up = "Chloé Dubois", "CHLOE DUBOIS"  # a non-ASCII name: UTF-8 in the ledger, ASCII at the bank
            while True:
                va = "VA%08d" % rng.randrange(10000000, 99000000)
                if va not in vas:
                    vas.add(va)
                    break
            status = "ACTIVE"
            if i in (58, 143):
                status = "SUSPENDED"
            if i == 191:
                status = "CLOSED"
            self.investors.append({"id": "INV%04d" % i, "name": name, "up": up, "va": va, "status": status})
        self.inv = {x["id"]: x for x in self.investors}
        active = [x for x in self.investors if x["status"] == "ACTIVE"]

        # Offerings
        self.offerings = [
            {"id": "OFF-A", "name": "Tampines Logistics Hub", "price": 5000, "units_offered": 40000,
             "min_units": 25000, "open": dt.date(2026, 11, 2), "close": d1, "settle": d2},
            {"id": "OFF-B", "name": "Robinson Road Office Tower Level 12", "price": 10137, "units_offered": 9871,
             "min_units": 5000, "open": dt.date(2026, 11, 2), "close": d1, "settle": d2},
            {"id": "OFF-C", "name": "Jurong East Retail Podium", "price": 100317, "units_offered": 4321,
             "min_units": 2000, "open": dt.date(2026, 11, 9), "close": d2, "settle": d3},
        ]
        for o in self.offerings:
            o["fee_bps"] = FEE_BPS
        self.off = {o["id"]: o for o in self.offerings}
        self.make_subscriptions(active)

        # Settlement (independent computation)
        self.settlements = {o["id"]: settle(o, [s for s in self.subs if s["offering"] == o["id"]])
                            for o in self.offerings}
        for st in self.settlements.values():
            if st["outcome"] != "FAILED":
                assert st["fee"] * 10000 != st["gross"] * FEE_BPS, "fee must not be round"
                assert st["proceeds"] < FOUR_EYES_LIMIT
        assert self.settlements["OFF-A"]["outcome"] == "FAILED"
        assert self.settlements["OFF-B"]["outcome"] == "FULL"
        assert self.settlements["OFF-B"]["requested"] == self.off["OFF-B"]["units_offered"]
        assert self.settlements["OFF-C"]["outcome"] == "PRO_RATA"

        self.make_cash(active)

    def make_subscriptions(self, active):
        d1, d2, _ = DEMO_DAYS
        base_rng = self.rng
        pool = list(active)
        base_rng.shuffle(pool)
        subs = []

        def when(rng, lo_day, hi_day, last_hour=22):
            span = (hi_day - lo_day).days
            d = lo_day + dt.timedelta(days=rng.randrange(span + 1))
            return d, rng.randrange(8, last_hour), rng.randrange(60), rng.randrange(60)

        # OFF-A: undersubscribed (total < min_units 25000)
        rng = base_rng
        while True:
            a_units = [rng.randrange(1, 31) * 50 for _ in range(26)]
            if 15000 <= sum(a_units) < 25000:
                break
        for k, u in enumerate(a_units):
            subs.append({"offering": "OFF-A", "investor": pool[k]["id"], "units": u,
                         "when": when(rng, dt.date(2026, 11, 2), d1), "status": "ACTIVE"})
        subs.append({"offering": "OFF-A", "investor": pool[30]["id"], "units": 400,
                     "when": when(rng, dt.date(2026, 11, 2), d1), "status": "CANCELLED"})

        # OFF-B: exactly subscribed (sum = 9871), one investor twice, two cancelled
        b_inv = pool[40:78]
        while True:
            b_units = [rng.randrange(5, 95) * 5 for _ in range(len(b_inv))]
            rest = 9871 - sum(b_units)
            if 1 <= rest <= 900:
                break
        for k, u in enumerate(b_units):
            subs.append({"offering": "OFF-B", "investor": b_inv[k]["id"], "units": u,
                         "when": when(rng, dt.date(2026, 11, 2), d1), "status": "ACTIVE"})
        subs.append({"offering": "OFF-B", "investor": b_inv[3]["id"], "units": rest,
                     "when": when(rng, dt.date(2026, 11, 2), d1), "status": "ACTIVE"})
        for k in (80, 81):
            subs.append({"offering": "OFF-B", "investor": pool[k]["id"], "units": rng.randrange(2, 40) * 10,
                         "when": when(rng, dt.date(2026, 11, 2), d1), "status": "CANCELLED"})

        # OFF-C: oversubscribed, common sizes so that equal remainders meet at the cut. Searched
        # deterministically until the cut falls inside a group of equal remainders.
        off_c = self.off["OFF-C"]
        attempt = 0
        while True:
            attempt += 1
            crng = random.Random(DEMO_SEED * 1000 + attempt)
            c_subs = []
            c_inv = pool[90:150]
            for k, x in enumerate(c_inv):
                u = crng.choice([10, 20, 25, 40, 50, 50, 50, 75, 100, 100, 120, 150, 200, 250])
                day2 = k >= 54
                w = when(crng, d2, d2, 18) if day2 else when(crng, dt.date(2026, 11, 9), d1)
                c_subs.append({"offering": "OFF-C", "investor": x["id"], "units": u, "when": w,
                               "status": "ACTIVE"})
            # one investor subscribes twice (issuance sums both), one cancels one of two
            c_subs.append({"offering": "OFF-C", "investor": c_inv[5]["id"], "units": 35,
                           "when": when(crng, dt.date(2026, 11, 9), d1), "status": "ACTIVE"})
            c_subs.append({"offering": "OFF-C", "investor": c_inv[6]["id"], "units": 300,
                           "when": when(crng, dt.date(2026, 11, 9), d1), "status": "CANCELLED"})
            c_subs.append({"offering": "OFF-C", "investor": pool[151]["id"], "units": 80,
                           "when": when(crng, d2, d2, 18), "status": "CANCELLED"})
            for s in c_subs:
                s["at_utc"] = self.at_utc(s["when"])
                s["id"] = "tmp%03d" % c_subs.index(s)
            total = sum(s["units"] for s in c_subs if s["status"] == "ACTIVE")
            if not (off_c["units_offered"] * 13 // 10 < total < off_c["units_offered"] * 17 // 10):
                continue
            _, _, order = allocate(off_c, c_subs)
            cut = sum(1 for t in order if t[2])
            if cut == 0 or cut >= len(order):
                continue
            rem_w, w_sub, _ = order[cut - 1]
            rem_l, l_sub, _ = order[cut]
            group = [t for t in order if t[0] == rem_w]
            if rem_w != rem_l or len(group) < 3 or rem_w == 0:
                continue
            # The last winner and the first loser get the same timestamp: subscription_id decides
            # (the winner was generated first, so it gets the smaller id).
            if c_subs.index(w_sub) > c_subs.index(l_sub):
                continue
            l_sub["when"] = w_sub["when"]
            l_sub["at_utc"] = w_sub["at_utc"]
            _, _, order2 = allocate(off_c, c_subs)
            won = {t[1]["id"]: t[2] for t in order2}
            if not won[w_sub["id"]] or won[l_sub["id"]]:
                continue
            break
        self.c_attempts = attempt
        subs.extend(c_subs)
        self.c_tie = (w_sub, l_sub)

        # Chronological ids over all offerings; equal timestamps keep their generation order.
        for k, s in enumerate(subs):
            s["at_utc"] = self.at_utc(s["when"])
            s["gen"] = k
        subs.sort(key=lambda s: (s["at_utc"], s["gen"]))
        for k, s in enumerate(subs, 1):
            s["id"] = "SUB-%05d" % k
            d, h, m, sec = s["when"]
            s["subscribed_at"] = ts(d, h, m, sec)
            s["extract_day"] = d1 if d <= d1 else d2
        self.subs = subs

    @staticmethod
    def at_utc(when):
        d, h, m, s = when
        return dt.datetime(d.year, d.month, d.day, h, m, s) - dt.timedelta(hours=8)

    def make_cash(self, active):
        rng = self.rng
        d1, d2, d3 = DEMO_DAYS
        pool = list(active)
        rng.shuffle(pool)
        self.movements = {d: [] for d in DEMO_DAYS}   # by extract day
        self.lines = {d: {"client": [], "operating": [], "trustee": []} for d in DEMO_DAYS}
        self.specials = {}
        mv_seq = {}

        def mv(exp_day, extract_day, **kw):
            mv_seq[exp_day] = mv_seq.get(exp_day, 0) + 1
            m = dict(kw)
            m["id"] = "CM-%s-%04d" % (exp_day.strftime("%Y%m%d"), mv_seq[exp_day])
            m["expected"] = exp_day
            m.setdefault("batch", "")
            m.setdefault("account", CLIENT)
            self.movements[extract_day].append(m)
            return m

        def dep_narr(up, va):
            v = rng.randrange(4)
            up = up[:35]
            if v == 0:
                return ["FAST PAYMENT FROM %s" % up, "%s REF %s" % (va, rng.randrange(10**9, 10**10))]
            if v == 1:
                return ["GIRO CREDIT %s %s" % (up[:30], va)]
            if v == 2:
                return ["INWARD FAST PAYMENT", "%s" % up, "OTHR %s TOP UP DABS WALLET" % va]
            return ["PAYNOW TRANSFER FROM %s" % up, va]

        def wd_narr(up, wd):
            if rng.randrange(2):
                return ["FAST PAYMENT TO %s" % up[:35], "%s WALLET WITHDRAWAL" % wd]
            return ["GIRO DEBIT %s %s" % (up[:30], wd)]

        def deposit(day, x, amount=None, extract_day=None, exp_day=None):
            if amount is None:
                amount = self.deposit_amount()
            m = mv(exp_day or day, extract_day or day, direction="CREDIT", amount=amount,
                   reference=x["va"], kind="DEPOSIT", investor=x["id"])
            return m

        def add_line(day, acct, **kw):
            line = dict(kw)
            line.setdefault("bref", self.next_ft(day))
            self.lines[day][acct].append(line)
            return line

        # The deposit that never arrives: expected 2026-11-18, in day 1's extract, on no statement.
        x = pool.pop()
        self.specials["never"] = deposit(d1, x, exp_day=dt.date(2026, 11, 18))
        self.specials["never_inv"] = x

        for day in DEMO_DAYS:
            n_dep = rng.randrange(22, 29)
            n_wd = rng.randrange(8, 13)
            for _ in range(n_dep):
                x = pool.pop()
                m = deposit(day, x)
                add_line(day, "client", mark="C", amount=m["amount"], cust=x["va"], narr=dep_narr(x["up"], x["va"]),
                         rule="REFERENCE", mvs=[m["id"]], ref=x["va"])
            for _ in range(n_wd):
                x = rng.choice(active)
                wd = self.next_wd()
                amt = self.unique_amount(20000, 3000000)
                m = mv(day, day, direction="DEBIT", amount=amt, reference=wd, kind="WITHDRAWAL", investor=x["id"])
                add_line(day, "client", mark="D", amount=amt, cust=wd, narr=wd_narr(x["up"], wd),
                         rule="REFERENCE", mvs=[m["id"]], ref=wd)
            # one batch payout a day: several withdrawals, one bank line, reference = batch id
            batch = "BATCH-%s-01" % day.strftime("%Y%m%d")
            items = []
            for _ in range(rng.randrange(3, 7)):
                x = rng.choice(active)
                amt = self.unique_amount(10000, 800000)
                items.append(mv(day, day, direction="DEBIT", amount=amt, reference=self.next_wd(),
                                kind="WITHDRAWAL", investor=x["id"], batch=batch))
            tot = sum(m["amount"] for m in items)
            assert tot not in self.used_amounts
            self.used_amounts.add(tot)
            add_line(day, "client", mark="D", amount=tot, cust="NONREF",
                     narr=["GIRO BULK PAYMENT %s" % batch, "%d ITEMS DABS WALLET PAYOUT" % len(items)],
                     rule="BATCH", mvs=[m["id"] for m in items], ref=batch)

        # Problem 1: unknown deposit VA99999999 on day 1.
        amt = self.unique_amount(100000, 900000, 5000)
        self.specials["unknown"] = add_line(d1, "client", mark="C", amount=amt, cust="VA99999999",
                                            narr=["FAST PAYMENT FROM LIM BOON HUAT", "VA99999999 REF 2611230088"],
                                            rule="UNMATCHED_STATEMENT", mvs=[], ref="VA99999999")
        # Two identical same-day deposits on day 1 (real repeats, not duplicates).
        x = pool.pop()
        amt = self.unique_amount(100000, 1000000, 100000)
        narr = ["FAST PAYMENT FROM %s" % x["up"][:35], "%s TOP UP" % x["va"]]
        twins = []
        for _ in range(2):
            m = deposit(d1, x, amount=amt)
            twins.append(add_line(d1, "client", mark="C", amount=amt, cust=x["va"], narr=list(narr),
                                  rule="REFERENCE", mvs=[m["id"]], ref=x["va"]))
        self.specials["twins"] = twins
        self.specials["twins_inv"] = x
        # Problem 3: amount mismatch on day 2: the bank credits 10.00 less than the ledger expects.
        x = pool.pop()
        while True:
            amt = self.deposit_amount()
            if amt - 1000 not in self.used_amounts:
                break
        self.used_amounts.add(amt - 1000)
        m = deposit(d2, x, amount=amt)
        self.specials["mismatch"] = add_line(d2, "client", mark="C", amount=m["amount"] - 1000, cust=x["va"],
                                             narr=dep_narr(x["up"], x["va"]), rule="AMOUNT_MISMATCH",
                                             mvs=[m["id"]], ref=x["va"], ledger_amount=m["amount"])
        self.specials["mismatch_inv"] = x
        # A withdrawal without reference on the statement: matched by amount and date (day 2).
        x = rng.choice(active)
        wd = self.next_wd()
        amt = self.unique_amount(50000, 500000)
        m = mv(d2, d2, direction="DEBIT", amount=amt, reference=wd, kind="WITHDRAWAL", investor=x["id"])
        self.specials["amount_date"] = add_line(d2, "client", mark="D", amount=amt, cust="NONREF",
                                                narr=["FAST PAYMENT TO %s" % x["up"][:35], "OCBC ACCT 5012345678 SALARY"],
                                                rule="AMOUNT_DATE", mvs=[m["id"]], ref="")
        # Problem 4: duplicate line on day 3: the same deposit posted twice with the same bank reference.
        x = pool.pop()
        m = deposit(d3, x)
        first = add_line(d3, "client", mark="C", amount=m["amount"], cust=x["va"], narr=dep_narr(x["up"], x["va"]),
                         rule="REFERENCE", mvs=[m["id"]], ref=x["va"])
        self.specials["dup"] = first
        self.specials["dup_inv"] = x

        for day in DEMO_DAYS:
            rng.shuffle(self.lines[day]["client"])
        # the duplicate copy goes later on the same statement
        lst = self.lines[d3]["client"]
        pos = lst.index(first)
        dup = dict(first)
        dup["rule"] = "DUPLICATE_LINE"
        dup["mvs"] = []
        lst.insert(rng.randrange(pos + 1, len(lst) + 1), dup)
        self.specials["dup_copy"] = dup

        # Settlement transfers: executed by the bank the business day after the settle run.
        for oid in ("OFF-A", "OFF-B", "OFF-C"):
            st = self.settlements[oid]
            if st["outcome"] == "FAILED":
                continue
            pay_day = next_business_day(self.off[oid]["close"])
            pr, fe = "TRF-%s-PROCEEDS" % oid, "TRF-%s-FEE" % oid
            st["transfers"] = [(pr, CLIENT, TRUSTEE, st["proceeds"]), (fe, CLIENT, OPERATING, st["fee"])]
            st["pay_day"] = pay_day
            head = [
                dict(mark="D", amount=st["proceeds"], cust="NONREF", bref=self.next_ft(pay_day),
                     narr=["FAST TRF TO PERPETUAL HARBOUR TRUSTEES LTD", "A/C %s %s" % (TRUSTEE, pr)],
                     rule="REFERENCE", mvs=[pr + "-DR"], ref=pr),
                dict(mark="D", amount=st["fee"], cust="NONREF", bref=self.next_ft(pay_day),
                     narr=["FAST TRF TO DABS PLATFORM PTE LTD OPERATING", "A/C %s %s" % (OPERATING, fe)],
                     rule="REFERENCE", mvs=[fe + "-DR"], ref=fe),
            ]
            self.lines[pay_day]["client"][0:0] = head
            self.lines[pay_day]["operating"].append(
                dict(mark="C", amount=st["fee"], bref=self.next_ft(pay_day),
                     desc="FAST TRF FROM DABS CLIENT A/C %s" % fe, rule="REFERENCE", mvs=[fe + "-CR"], ref=fe))
            self.lines[pay_day]["trustee"].append(
                dict(mark="C", amount=st["proceeds"], cust="NONREF", bref=self.next_ft(pay_day),
                     narr=["FAST TRF FROM DABS PLATFORM PTE LTD", "CLIENT MONEY A/C %s" % CLIENT, pr],
                     rule="REFERENCE", mvs=[pr + "-CR"], ref=pr))

    def deposit_amount(self):
        rng = self.rng
        k = rng.randrange(4)
        if k == 0:
            return self.unique_amount(100000, 5000000, 50000)   # round hundreds
        if k == 1:
            return self.unique_amount(10000, 2000000, 100)      # whole dollars
        return self.unique_amount(5000, 8000000)

    # -- output ---------------------------------------------------------------------------
    def write(self, out):
        d1, d2, d3 = DEMO_DAYS
        ledger = os.path.join(out, "ledger")
        stmts = os.path.join(out, "statements")
        expected = os.path.join(out, "expected")

        # Ledger extracts
        for day in DEMO_DAYS:
            ddir = os.path.join(ledger, day.isoformat())
            write_text(os.path.join(ddir, "accounts.csv"), csv_text(LEDGER_HEADERS["accounts.csv"], ACCOUNT_ROWS))
            if day == d1:
                write_text(os.path.join(ddir, "investors.csv"), csv_text(
                    LEDGER_HEADERS["investors.csv"],
                    [(x["id"], x["name"], x["va"], x["status"]) for x in self.investors]))
                write_text(os.path.join(ddir, "offerings.csv"), csv_text(
                    LEDGER_HEADERS["offerings.csv"],
                    [(o["id"], o["name"], CURRENCY, major(o["price"]), o["units_offered"], o["min_units"],
                      o["open"].isoformat(), o["close"].isoformat(), o["settle"].isoformat(), o["fee_bps"], TRUSTEE)
                     for o in self.offerings]))
                write_text(os.path.join(ddir, "holdings.csv"), csv_text(LEDGER_HEADERS["holdings.csv"], []))
            subs = [s for s in self.subs if s["extract_day"] == day]
            if subs:
                write_text(os.path.join(ddir, "subscriptions.csv"), csv_text(
                    LEDGER_HEADERS["subscriptions.csv"],
                    [(s["id"], s["offering"], s["investor"], s["units"], s["subscribed_at"], s["status"])
                     for s in subs]))
            mvs = sorted(self.movements[day], key=lambda m: m["id"])
            write_text(os.path.join(ddir, "cash_movements.csv"), csv_text(
                LEDGER_HEADERS["cash_movements.csv"],
                [(m["id"], m["account"], m["direction"], major(m["amount"]), CURRENCY, m["expected"].isoformat(),
                  m["reference"], m["kind"], m["investor"], m["batch"]) for m in mvs]))
            write_text(os.path.join(ddir, "balances.csv"), csv_text(
                LEDGER_HEADERS["balances.csv"],
                [(a, day.isoformat(), major(b)) for a, b in sorted(self.book_balances(day).items())]))

        # Statements
        bal = dict(OPENING_BALANCES)
        nos = {CLIENT: 327, OPERATING: 44, TRUSTEE: 112}
        prev_close_date = prev_business_day(d1)
        self.balances = {}
        for day in DEMO_DAYS:
            paths = statement_paths(stmts, day)
            rows = []
            # client money, MT940
            o = Out(paths["client"])
            w = MT940Writer(o, sender_lt="DBSSSGSGAXXX", account=CLIENT, stmt_no=nos[CLIENT],
                            opening_date=prev_close_date, opening=bal[CLIENT], day=day,
                            seq_ref="STMT%s%03d" % (yymmdd(day), nos[CLIENT] % 1000))
            opening = bal[CLIENT]
            for ln in self.lines[day]["client"]:
                w.line(mark=ln["mark"], amount=ln["amount"], cust_ref=ln["cust"], bref=ln["bref"], narrative=ln["narr"])
            bal[CLIENT] = w.finish()
            o.close()
            rows.append((CLIENT, opening, bal[CLIENT]))
            # operating, sgbank-corp CSV (day 2's file arrives late)
            op_path = paths["operating"]
            if day == d2:
                op_path = op_path.replace(os.path.join(stmts, day.isoformat()),
                                          os.path.join(stmts, "late", day.isoformat()))
            o = Out(op_path)
            w = SgbankCsvWriter(o, account=OPERATING, stmt_no=nos[OPERATING], day=day, opening=bal[OPERATING])
            opening = bal[OPERATING]
            for ln in self.lines[day]["operating"]:
                w.line(mark=ln["mark"], amount=ln["amount"], description=ln["desc"], bref=ln["bref"])
            bal[OPERATING] = w.finish()
            o.close()
            rows.append((OPERATING, opening, bal[OPERATING]))
            # trustee cash, MT940
            o = Out(paths["trustee"])
            w = MT940Writer(o, sender_lt="HSBCSGSGAXXX", account=TRUSTEE, stmt_no=nos[TRUSTEE],
                            opening_date=prev_close_date, opening=bal[TRUSTEE], day=day,
                            seq_ref="PHT%s%04d" % (yymmdd(day), nos[TRUSTEE]))
            opening = bal[TRUSTEE]
            for ln in self.lines[day]["trustee"]:
                w.line(mark=ln["mark"], amount=ln["amount"], cust_ref=ln["cust"], bref=ln["bref"], narrative=ln["narr"])
            bal[TRUSTEE] = w.finish()
            o.close()
            rows.append((TRUSTEE, opening, bal[TRUSTEE]))
            for a in nos:
                nos[a] += 1
            prev_close_date = day
            self.balances[day] = rows
            # trustee register: holdings registered the day after their settlement
            write_text(paths["register"], csv_text(REGISTER_HEADER, self.register_rows(day)))
            # the bank's status report about the payment file settle sent the business day before
            rep = self.status_report(day)
            if rep is not None:
                write_text(paths["status"], rep)

        # Expected results
        for day in DEMO_DAYS:
            edir = os.path.join(expected, day.isoformat())
            settled = [o for o in self.offerings if o["close"] == day]
            write_text(os.path.join(edir, "settlement.csv"), csv_text(
                "offering_id,outcome,requested,allocated,refunded_minor,gross_minor,fee_minor,proceeds_minor",
                [(st["offering_id"], st["outcome"], st["requested"], st["allocated"], st["refunded"], st["gross"],
                  st["fee"], st["proceeds"]) for st in (self.settlements[o["id"]] for o in settled)]))
            arows = []
            for o in settled:
                st = self.settlements[o["id"]]
                for s in self.subs:
                    if s["offering"] == o["id"] and s["status"] == "ACTIVE":
                        arows.append((s["id"], st["alloc"][s["id"]]))
            write_text(os.path.join(edir, "allocations.csv"),
                       csv_text("subscription_id,allocated_units", sorted(arows)))
            trows = []
            for o in settled:
                trows.extend(self.settlements[o["id"]].get("transfers", []))
            write_text(os.path.join(edir, "transfers.csv"),
                       csv_text("transfer_id,from,to,amount_minor", sorted(trows)))
            irows = []
            for o in settled:
                for inv, units in sorted(self.issued(o["id"]).items()):
                    irows.append(("ISS-%s-%s" % (o["id"], inv), units, units * o["price"]))
            write_text(os.path.join(edir, "issuance.csv"),
                       csv_text("issuance_id,units,amount_minor", sorted(irows)))
            write_text(os.path.join(edir, "transfer_status.csv"),
                       csv_text("transfer_id,status,moves", self.expected_transfer_status(day)))
            write_text(os.path.join(edir, "exceptions.csv"),
                       csv_text("type,account_no,reference,amount_minor", self.expected_exceptions(day)))
            write_text(os.path.join(edir, "balances.csv"),
                       csv_text("account_no,opening_minor,closing_minor", sorted(self.balances[day])))
            write_text(os.path.join(edir, "bank_rec.csv"), csv_text(
                "account_no,status,bank_closing,in_transit,outstanding,bank_not_books,adjusted_bank,book_balance,"
                "difference", self.bank_rec_rows(day)))
            mrows = []
            for acct_key, acct in (("client", CLIENT), ("operating", OPERATING), ("trustee", TRUSTEE)):
                for ln in self.lines[day][acct_key]:
                    if ln["rule"] in ("REFERENCE", "BATCH", "AMOUNT_DATE"):
                        signed = ln["amount"] if ln["mark"] == "C" else -ln["amount"]
                        mrows.append((acct, ln["bref"], ln["rule"], ln["ref"], signed, ";".join(sorted(ln["mvs"]))))
            write_text(os.path.join(edir, "matches.csv"),
                       csv_text("account_no,bank_ref,rule,reference,amount_minor,movement_ids", sorted(mrows)))

        write_text(os.path.join(out, "README.md"), self.readme())

    def paid_by(self, day):
        """The offering whose transfers settle sent on the business day before `day` (one a day here)."""
        for oid in ("OFF-A", "OFF-B", "OFF-C"):
            st = self.settlements[oid]
            if st.get("transfers") and st["pay_day"] == day:
                return oid
        return None

    def status_report(self, day):
        """The pain.002 the bank delivers on `day` about the previous business day's payment file:
        OFF-B's (day 2) accepted at group level, OFF-C's (day 3) settled per transaction (ACSC)."""
        oid = self.paid_by(day)
        if oid is None:
            return None
        st = self.settlements[oid]
        orig = "DABS-PAY-%s-01" % self.off[oid]["close"].strftime("%Y%m%d")
        created = "%sT08:30:00+08:00" % day.isoformat()
        msg = "DBS-PSR-%s-0001" % day.strftime("%Y%m%d")
        if oid == "OFF-B":
            return pain002_report(msg_id=msg, created=created, orig_msg_id=orig, grp_sts="ACCP")
        return pain002_report(msg_id=msg, created=created, orig_msg_id=orig,
                              txs=[(t[0], "ACSC", "%sT08:0%d:00+08:00" % (day.isoformat(), k))
                                   for k, t in enumerate(sorted(st["transfers"]), 1)])

    def expected_transfer_status(self, day):
        """Each transfer's status after the run of `day` and its moves past UPLOADED (status:source)."""
        rows = []
        for oid in ("OFF-A", "OFF-B", "OFF-C"):
            st = self.settlements[oid]
            if not st.get("transfers") or self.off[oid]["close"] > day:
                continue
            for t in st["transfers"]:
                if day < st["pay_day"]:
                    rows.append((t[0], "UPLOADED", ""))
                elif oid == "OFF-B":     # ACCP in the report, then the debit on the statement
                    rows.append((t[0], "SETTLED", "ACCEPTED:PAIN002;SETTLED:STATEMENT"))
                else:                    # ACSC in the report (the statement's debit then changes nothing)
                    rows.append((t[0], "SETTLED", "SETTLED:PAIN002"))
        return sorted(rows)
    def book_balances(self, day):
        """The general ledger's cash balance of each account at the end of day: the opening balances plus
        every movement the books expect on or before day (the extracts' and the settlement transfers,
        which the books hold from their payment day), with problem 7's error on its day."""
        book = dict(OPENING_BALANCES)
        for mvs in self.movements.values():
            for m in mvs:
                if m["expected"] <= day:
                    book[m["account"]] += m["amount"] if m["direction"] == "CREDIT" else -m["amount"]
        for st in self.settlements.values():
            if st.get("pay_day") is not None and st["pay_day"] <= day:
                for _tid, frm, to, amount in st["transfers"]:
                    book[frm] -= amount
                    book[to] += amount
        if day == BOOK_ERROR["day"]:
            book[BOOK_ERROR["account"]] -= BOOK_ERROR["amount"]
        return book

    def bank_rec_rows(self, day):
        """The bank reconciliation statement of each account on day, from the world's own lines and
        movements: what reconcile must find (sql/140_bank_rec.sql names the columns)."""
        keys = {CLIENT: "client", OPERATING: "operating", TRUSTEE: "trustee"}
        matched, open_lines = set(), {a: 0 for a in keys}
        for d in DEMO_DAYS:
            if d > day:
                break
            for acct, key in keys.items():
                for ln in self.lines[d][key]:
                    if ln["rule"] in ("REFERENCE", "BATCH", "AMOUNT_DATE"):
                        matched.update(ln["mvs"])
                    else:
                        open_lines[acct] += ln["amount"] if ln["mark"] == "C" else -ln["amount"]
        dit, op = {a: 0 for a in keys}, {a: 0 for a in keys}
        booked = [m for mvs in self.movements.values() for m in mvs]
        for st in self.settlements.values():
            for tid, frm, to, amount in st.get("transfers", []):
                booked.append(dict(id=tid + "-DR", account=frm, direction="DEBIT", amount=amount, expected=st["pay_day"]))
                booked.append(dict(id=tid + "-CR", account=to, direction="CREDIT", amount=amount, expected=st["pay_day"]))
        for m in booked:
            if m["expected"] <= day and m["id"] not in matched:
                if m["direction"] == "CREDIT":
                    dit[m["account"]] += m["amount"]
                else:
                    op[m["account"]] += m["amount"]
        closing = {a: c for a, _o, c in self.balances[day]}
        book = self.book_balances(day)
        rows = []
        for a in sorted(keys):
            adj = closing[a] + dit[a] - op[a] - open_lines[a]
            rows.append((a, "AGREED" if adj == book[a] else "BREAK", closing[a], dit[a], op[a], open_lines[a], adj,
                         book[a], adj - book[a]))
        return rows

    def book_break(self, day):
        """Adjusted bank balance minus book balance of problem 7's account on day (0 when none)."""
        return BOOK_ERROR["amount"] if day == BOOK_ERROR["day"] else 0

    def issued(self, oid):
        st = self.settlements[oid]
        units = {}
        if st["outcome"] == "FAILED":
            return units
        for s in self.subs:
            if s["offering"] == oid and s["status"] == "ACTIVE":
                a = st["alloc"][s["id"]]
                if a > 0:
                    units[s["investor"]] = units.get(s["investor"], 0) + a
        return units

    def register_rows(self, day):
        rows = []
        for o in self.offerings:
            if self.settlements[o["id"]]["outcome"] == "FAILED":
                continue
            if next_business_day(o["close"]) > day:
                continue
            for inv, units in sorted(self.issued(o["id"]).items()):
                if day == DEMO_DAYS[2] and o["id"] == "OFF-C" and inv == self.register_break_investor():
                    units -= 1
                rows.append((day.isoformat(), o["id"], inv, units))
        return rows

    def register_break_investor(self):
        """Problem 6: the investor whose OFF-C units the trustee registers one short on day 3."""
        issued = self.issued("OFF-C")
        multi = sorted(inv for inv, u in issued.items() if u > 1)
        return multi[len(multi) // 2]

    def expected_exceptions(self, day):
        d1, d2, d3 = DEMO_DAYS
        sp = self.specials
        rows = [("UNMATCHED_STATEMENT", CLIENT, "VA99999999", sp["unknown"]["amount"])]
        if day >= d2:
            rows.append(("UNMATCHED_LEDGER", CLIENT, sp["never"]["reference"], sp["never"]["amount"]))
            rows.append(("AMOUNT_MISMATCH", CLIENT, sp["mismatch"]["ref"], sp["mismatch"]["amount"]))
        if day >= d3:
            rows.append(("DUPLICATE_LINE", CLIENT, sp["dup"]["ref"], sp["dup"]["amount"]))
        if self.book_break(day):
            rows.append(("BOOK_BALANCE_BREAK", BOOK_ERROR["account"], "", self.book_break(day)))
            rows.append(("HOLDING_MISMATCH", "", "OFF-C", ""))
        return sorted(rows, key=lambda r: tuple(str(v) for v in r))

    # -- README ---------------------------------------------------------------------------
    def readme(self):
        d1, d2, d3 = DEMO_DAYS
        sp = self.specials
        A, B, C = (self.settlements[k] for k in ("OFF-A", "OFF-B", "OFF-C"))
        oc = self.off["OFF-C"]
        w_sub, l_sub = self.c_tie
        brk = self.register_break_investor()
        brk_units = self.issued("OFF-C")[brk]

        def cnt(day, acct):
            return len(self.lines[day][acct])

        def money(m):
            return "SGD " + thousands(m)

        tie_rem = (w_sub["units"] * oc["units_offered"]) % C["requested"]
        group = [t for t in C["order"] if t[0] == tie_rem]
        won = sum(1 for t in group if t[2])
        bal = self.balances
        L = []
        p = L.append
        p("# The fixture world")
        p("")
        p("GENERATED by `python3 tools/genworld.py --demo --out fixtures` (fixed seed %d): do not edit by hand;" % DEMO_SEED)
        p("change the generator and regenerate. `tests/integration/05_fixtures_consistent.sh` checks that the")
        p("committed files are exactly what the generator writes and that every statement balances;")
        p("`tests/integration/05_fixtures_world.sh` runs the three nights and compares the database with")
        p("`expected/`. Other tests hard-code references from this world (bank references, movement ids):")
        p("regenerating it with a different seed or logic breaks them, so treat it as frozen.")
        p("")
        p("A small, realistic world for the demo and the tests: three consecutive business days, Monday")
        p("%s to Wednesday %s (Asia/Singapore), all in SGD (exponent 2)." % (d1, d3))
        p("")
        p("## Layout")
        p("")
        p("```")
        p("ledger/<DATE>/            the platform's ledger extract exported at the end of DATE (`pipeline ledger import`)")
        p("statements/<DATE>/        the files as they arrive on the SFTP servers for business date DATE")
        p("  bank/client/stmt_0123456789_<YYYYMMDD>.sta          client-money account, SWIFT MT940 (CRLF)")
        p("  bank/operating/acct_0123456790_<YYYYMMDD>.csv       operating account, CSV layout sgbank-corp (CRLF)")
        p("  trustee/cash/trustee_8800123456_<YYYYMMDD>.sta      trustee's cash account, MT940 (CRLF)")
        p("  trustee/register/register_<YYYYMMDD>.csv            trustee unit register (LF)")
        p("  bank/status/pain002_<YYYYMMDD>_01.xml               the bank's pain.002 status report (days 2 and 3, LF)")
        p("statements/late/2026-11-24/bank/operating/            day 2's operating statement, which arrives late")
        p("expected/<DATE>/          what a correct run of DATE produces (machine-readable, for the tests)")
        p("```")
        p("")
        p("Accounts: client money `%s` (CLIENT_MONEY), operating `%s` (OPERATING), trustee `%s`" % (CLIENT, OPERATING, TRUSTEE))
        p("(TRUSTEE; all three offerings use it). %d investors `INV0001`..`INV0200` with virtual accounts" % len(self.investors))
        p("`VA` + 8 digits (INV0058 and INV0143 SUSPENDED, INV0191 CLOSED; INV0007 has a non-ASCII name, `Chloé Dubois`).")
        p("")
        p("Ledger extracts: day 1 holds everything known so far (accounts, investors, offerings, subscriptions,")
        p("an empty holdings.csv, the movements expected on day 1 and one earlier movement). Days 2 and 3 hold")
        p("accounts.csv again (unchanged rows: re-importing them is a no-op) and only new rows: day 2 the OFF-C")
        p("subscriptions made on %s and the day's movements, day 3 the day's movements. No row ever changes." % d2)
        p("Settlement movements (PROCEEDS/FEE) are not in the extracts: the settle stage creates them.")
        p("Every extract has balances.csv: each account's book balance (the general ledger's cash balance) at the")
        p("end of its day: the opening balances of 2026-11-20 plus every movement the books expect on or before")
        p("the day, the settlement transfers from their payment day included (problem 7 aside).")
        p("")
        p("References the pipeline extracts (pipeline.conf `reference_pattern`): deposits carry the investor's")
        p("virtual account `VA########` (in the :61: customer reference and the :86: narrative), withdrawals")
        p("`WD-########`, the daily batch payout `BATCH-YYYYMMDD-01` (narrative only, customer reference NONREF),")
        p("transfers `TRF-<offering>-PROCEEDS` / `TRF-<offering>-FEE` (narrative only; always at the end of a")
        p(":86: line). Bank references (`//FT...`, the CSV Reference column) are unique except in problem 4.")
        p("")
        p("## Offerings and the settlement rule")
        p("")
        p("| offering | unit price | offered | min | closes | active subs (cancelled) | requested | outcome |")
        p("|---|---|---|---|---|---|---|---|")
        for o in self.offerings:
            st = self.settlements[o["id"]]
            na = sum(1 for s in self.subs if s["offering"] == o["id"] and s["status"] == "ACTIVE")
            nc = sum(1 for s in self.subs if s["offering"] == o["id"] and s["status"] == "CANCELLED")
            p("| %s %s | %s | %d | %d | %s | %d (%d) | %d | %s |" % (
                o["id"], o["name"], money(o["price"]), o["units_offered"], o["min_units"], o["close"], na, nc,
                st["requested"], st["outcome"]))
        p("")
        p("Rule (issue 6): total = units of ACTIVE subscriptions; total < min_units: FAILED, all refunded;")
        p("total <= units_offered: FULL; else PRO_RATA: floor(req x offered / total) each, the leftover units one")
        p("each to the largest remainder (req x offered) mod total, ties to the earlier subscribed_at, then the")
        p("smaller subscription_id. gross = allocated x unit_price; fee = floor(gross x 150 / 10000) minor units;")
        p("proceeds = gross - fee. All fees are deliberately not round, so the floor matters.")
        p("")
        p("| offering | allocated | gross | fee | proceeds | refunded | settled by run of | bank pays on |")
        p("|---|---|---|---|---|---|---|---|")
        for st in (A, B, C):
            o = self.off[st["offering_id"]]
            p("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                o["id"], st["allocated"], money(st["gross"]), money(st["fee"]), money(st["proceeds"]),
                money(st["refunded"]), o["close"], st.get("pay_day", "no transfers")))
        p("")
        p("- OFF-A fails (%d < %d): every subscription refunded in full, no transfers, no issuance." % (
            A["requested"], self.off["OFF-A"]["min_units"]))
        p("- OFF-B is exactly subscribed (%d = %d); one investor (%s) has two subscriptions, summed into one" % (
            B["requested"], self.off["OFF-B"]["units_offered"],
            sorted({s["investor"] for s in self.subs if s["offering"] == "OFF-B" and s["status"] == "ACTIVE"
                    and sum(1 for t in self.subs if t["offering"] == "OFF-B" and t["status"] == "ACTIVE"
                            and t["investor"] == s["investor"]) > 1})[0]))
        p("  issuance record.")
        p("- OFF-C is oversubscribed (%d requested for %d); %d units are left over after the floors. The cut" % (
            C["requested"], oc["units_offered"],
            oc["units_offered"] - sum(s["units"] * oc["units_offered"] // C["requested"]
                                      for s in self.subs if s["offering"] == "OFF-C" and s["status"] == "ACTIVE")))
        p("  falls inside a group of %d subscriptions with the same remainder (%d): %d of them get a leftover" % (
            len(group), tie_rem, won))
        p("  unit, decided by subscribed_at; the last winner %s and the first loser %s were subscribed at the" % (
            w_sub["id"], l_sub["id"]))
        p("  same second (%s), so the smaller subscription_id decides. Subscriptions made on %s" % (
            w_sub["subscribed_at"], d2))
        p("  arrive in day 2's extract and count. `expected/%s/allocations.csv` has every allocation." % d2)
        p("")
        p("Transfers (issue 6): `TRF-<offering>-PROCEEDS` client money -> trustee and `TRF-<offering>-FEE`")
        p("client money -> operating, executed by the bank the business day after the settle run: they appear")
        p("on that day's statements with that value date (two DEBIT lines on the client-money MT940, the FEE")
        p("CREDIT on the operating CSV, the PROCEEDS CREDIT on the trustee MT940). Every proceeds transfer is")
        p("below the four-eyes limit (SGD 5,000,000.00), so nothing is held in the demo. Issuance ids")
        p("`ISS-<offering>-<investor>`. The trustee registers units the business day after settlement: the")
        p("register for D+1 shows the holdings from D's settlement, with as_of_date D+1 (so settle should")
        p("write its ledger holdings with an as_of_date no later than D+1; the next business day is natural).")
        p("")
        p("## Statements")
        p("")
        p("| day | client money MT940 (no. / lines / opening -> closing) | operating CSV | trustee MT940 | register rows |")
        p("|---|---|---|---|---|")
        for k, day in enumerate(DEMO_DAYS):
            r = {a: (o_, c_) for a, o_, c_ in bal[day]}
            p("| %s | %05d / %d / %s -> %s | %05d / %d / %s -> %s%s | %05d / %d / %s -> %s | %d |" % (
                day, 327 + k, cnt(day, "client"), thousands(r[CLIENT][0]), thousands(r[CLIENT][1]),
                44 + k, cnt(day, "operating"), thousands(r[OPERATING][0]), thousands(r[OPERATING][1]),
                " (late)" if day == d2 else "",
                112 + k, cnt(day, "trustee"), thousands(r[TRUSTEE][0]), thousands(r[TRUSTEE][1]),
                len(self.register_rows(day))))
        p("")
        p("Each statement covers one business day; the opening balance is the previous closing balance and the")
        p("statement numbers are consecutive per account (day 1's opening balance is dated %s)." % prev_business_day(d1))
        p("The client-money statements have 20-60 deposits and withdrawals a day: one line per deposit")
        p("(reference VA), one per withdrawal (reference WD-), one line for the day's batch payout (reference")
        p("BATCH-, several ledger movements with that batch_id whose amounts sum to the line), and on days 2")
        p("and 3 the settlement transfers. The register of day 1 is empty (header only): nothing has settled yet.")
        p("")
        p("## The deliberate problems (exactly these)")
        p("")
        p("1. **Unknown deposit** (day 1): a client-money credit of %s with `VA99999999`, which is no" % money(sp["unknown"]["amount"]))
        p("   investor's virtual account, bank reference %s. -> `UNMATCHED_STATEMENT` on day 1, carried to" % sp["unknown"]["bref"])
        p("   days 2 and 3 with its age growing (0, 1, 2 business days).")
        p("2. **Deposit that never arrives**: movement %s (%s, %s, reference %s) expected %s, in day" % (
            sp["never"]["id"], sp["never_inv"]["id"], money(sp["never"]["amount"]), sp["never"]["reference"], sp["never"]["expected"]))
        p("   1's extract, on no statement. Pending on day 1 (inside the window: expected date + 3 business days")
        p("   = %s), `UNMATCHED_LEDGER` from day 2 on." % add_business_days(sp["never"]["expected"], 3))
        p("3. **Amount differs** (day 2): movement %s (%s) expects %s from %s; the bank credits" % (
            sp["mismatch"]["mvs"][0], sp["mismatch_inv"]["id"], money(sp["mismatch"]["ledger_amount"]), sp["mismatch"]["ref"]))
        p("   %s (10.00 less), bank reference %s. -> one `AMOUNT_MISMATCH` (the exceptions files give the" % (
            money(sp["mismatch"]["amount"]), sp["mismatch"]["bref"]))
        p("   bank's amount), carried to day 3. The line and the movement are that exception's, not also")
        p("   UNMATCHED_STATEMENT / UNMATCHED_LEDGER.")
        p("4. **Duplicate line** (day 3): the bank posts the deposit of %s from %s twice with the same" % (
            money(sp["dup"]["amount"]), sp["dup"]["ref"]))
        p("   bank reference %s (the statement's balances include both). One line matches movement %s," % (
            sp["dup"]["bref"], sp["dup"]["mvs"][0]))
        p("   the later one is `DUPLICATE_LINE`.")
        p("5. **Late statement** (day 2): the operating account's CSV for %s is not in `statements/%s/`;" % (d2, d2))
        p("   it is in `statements/late/%s/bank/operating/`. The demo runs day 2 and gets exit 3 (input not" % d2)
        p("   available yet), delivers the late file, and reruns day 2, which then completes.")
        p("6. **Trustee register mismatch** (day 3): the trustee registers %s with %d OFF-C units, one fewer" % (brk, brk_units - 1))
        p("   than the %d allocated. -> `HOLDING_MISMATCH` (reference `OFF-C`, ledger_id %s, subject" % (brk_units, brk))
        p("   `holding:OFF-C:%s`)." % brk)
        p("7. **Book balance wrong** (day 3): the operating account's book balance in %s's balances.csv is" % BOOK_ERROR["day"])
        p("   %s lower than its movements say: it includes %s (%s)" % (
            money(BOOK_ERROR["amount"]), BOOK_ERROR["what"], BOOK_ERROR["movement"]))
        p("   that is missing from the extract's cash_movements.csv and not on the bank. -> `BOOK_BALANCE_BREAK`")
        p("   (subject `book:%s`, amount = adjusted bank balance minus book balance = %s)." % (
            BOOK_ERROR["account"], money(BOOK_ERROR["amount"])))
        p("")
        p("Not problems, but there to be handled right:")
        p("- Two identical deposits on day 1: %s from %s twice, same narrative, different bank references" % (
            money(sp["twins"][0]["amount"]), sp["twins_inv"]["va"]))
        p("  (%s, %s), each matched to its own movement (%s, %s): real repeats are not duplicates." % (
            sp["twins"][0]["bref"], sp["twins"][1]["bref"], sp["twins"][0]["mvs"][0], sp["twins"][1]["mvs"][0]))
        p("- A withdrawal on day 2 whose bank line carries no reference (customer reference NONREF, narrative")
        p("  without WD-): movement %s, %s, bank reference %s -> matched by rule AMOUNT_DATE." % (
            sp["amount_date"]["mvs"][0], money(sp["amount_date"]["amount"]), sp["amount_date"]["bref"]))
        p("- Every other amount on the client-money account is unique, so rule AMOUNT_DATE never has a second")
        p("  candidate and never pairs one of the problem lines with something else.")
        p("")
        p("## What a correct run finds, day by day")
        p("")
        p("The demo, per day D: `pipeline ledger import fixtures/ledger/D`, deliver `fixtures/statements/D/*`,")
        p("`pipeline run --date D`.")
        p("")
        p("- **%s** (Mon): settle closes OFF-A (FAILED, refunds %s) and OFF-B (FULL, transfers %s" % (
            d1, money(A["refunded"]), money(B["proceeds"])))
        p("  proceeds + %s fee, %d issuance records). Reconcile: everything matches except problem 1;" % (
            money(B["fee"]), len(self.issued("OFF-B"))))
        p("  the 11-18 deposit is pending. Operating and trustee statements have no lines; the register is empty.")
        p("- **%s** (Tue): first attempt exits 3 (the operating CSV is late); after it is delivered the" % d2)
        p("  rerun matches OFF-B's three transfer lines (client DEBITs, operating FEE credit, trustee PROCEEDS")
        p("  credit) against the settle movements, the register shows OFF-B's holdings (matching), problems")
        p("  2 and 3 open, problem 1 carried. Settle closes OFF-C (PRO_RATA, %s proceeds + %s fee)." % (
            money(C["proceeds"]), money(C["fee"])))
        p("- **%s** (Wed): OFF-C's transfers match; problems 4, 6 and 7 open; 1, 2, 3 carried." % d3)
        p("")
        p("The bank's answers (pain.002.001.03, `bank/status/`, source `bank_status`): on each day after a")
        p("payment file the bank delivers a status report about it, which the next night's settle applies")
        p("before anything else. Day 2's report says OFF-B's message DABS-PAY-%s-01 is accepted at group" % d1.strftime("%Y%m%d"))
        p("level (GrpSts ACCP): both transfers UPLOADED -> ACCEPTED, then SETTLED by their debits matched on")
        p("day 2's client-money statement. Day 3's report settles OFF-C's two transfers of")
        p("DABS-PAY-%s-01 per transaction (TxSts ACSC, with AccptncDtTm); the statement's debits that night" % d2.strftime("%Y%m%d"))
        p("change nothing more. No PAYMENT_* exception is expected.")
        p("")
        p("No `STATEMENT_CONTINUITY_BREAK` is expected on any day: the statements are whole (every difference")
        p("between the bank's balance and the first opening balance plus matched movements is an open line).")
        p("The bank reconciliation (`expected/<DATE>/bank_rec.csv`) agrees with the book balance on every account")
        p("and day except problem 7: the client-money account's reconciling items are the deposit in transit")
        p("(problem 2), the unknown credit, the mismatched line and the ledger's own amount of that deposit")
        p("(in transit), and the duplicate line. Settle is never blocked (nothing pays out of the operating")
        p("account). No `STATEMENT_MISSING`, `STATEMENT_GAP`, `BALANCE_BREAK`, `AMBIGUOUS` or `FILE_*` exception")
        p("is expected after the day-2 rerun.")
        p("")
        p("## expected/<DATE>/ (CSV, LF, header row; amounts in minor units)")
        p("")
        p("- `settlement.csv` offering_id,outcome,requested,allocated,refunded_minor,gross_minor,fee_minor,proceeds_minor:")
        p("  the offerings the settle run of DATE closes.")
        p("- `allocations.csv` subscription_id,allocated_units: their ACTIVE subscriptions (CANCELLED ones are")
        p("  ignored by allocation and not listed).")
        p("- `transfers.csv` transfer_id,from,to,amount_minor; `issuance.csv` issuance_id,units,amount_minor.")
        p("- `exceptions.csv` type,account_no,reference,amount_minor: the OPEN exceptions after the run of DATE,")
        p("  sorted by all columns as text (LC_ALL=C sort). amount_minor is the signed amount of the statement")
        p("  line (credits positive) for line exceptions, of the movement (CREDIT positive) for UNMATCHED_LEDGER;")
        p("  empty for holdings. HOLDING_MISMATCH has no account; its reference is the offering id (the")
        p("  investor is the exception's ledger_id, see problem 6).")
        p("- `balances.csv` account_no,opening_minor,closing_minor: the bank statements of DATE.")
        p("- `bank_rec.csv` account_no,status,bank_closing,in_transit,outstanding,bank_not_books,adjusted_bank,")
        p("  book_balance,difference: the bank reconciliation statement of each account on DATE (sql/140_bank_rec.sql;")
        p("  outstanding is the sum of the payments as a positive amount, bank_not_books signed, difference =")
        p("  adjusted_bank - book_balance).")
        p("- `matches.csv` account_no,bank_ref,rule,reference,amount_minor,movement_ids: every match reconcile")
        p("  should make on DATE (movement_ids `;`-joined; for settlement lines the ids are named")
        p("  `<transfer_id>-DR` / `-CR` as the settle brief suggests: compare by reference if settle names them")
        p("  otherwise). amount_minor signed (debits negative).")
        p("- `transfer_status.csv` transfer_id,status,moves: every transfer after the run of DATE and its moves")
        p("  past UPLOADED (`STATUS:SOURCE`, `;`-joined in order; source PAIN002 or STATEMENT).")
        p("")
        p("## Large worlds for benchmarks")
        p("")
        p("```")
        p("python3 tools/genworld.py --lines N --out DIR [--seed S] [--days D]   # or: make fixtures-large N=...")
        p("python3 tools/genworld.py --mt940-lines N FILE [--seed S]            # one big client-money MT940")
        p("python3 tools/genworld.py --csv-lines N FILE [--seed S]              # one big sgbank-corp CSV")
        p("python3 tools/genworld.py --camt053-lines N FILE [--seed S]          # one big client-money camt.053")
        p("python3 tools/genworld.py --check DIR                                # balances, numbering, endings")
        p("```")
        p("")
        p("`--lines` writes the same layout (DIR/ledger/<DATE>/, DIR/statements/<DATE>/) starting %s, about" % d1)
        p("N client-money statement lines spread over D business days (default 1), streaming (constant memory).")
        p("Per day: ~1% unknown deposits (UNMATCHED_STATEMENT), ~1% movements that never arrive (expected 5")
        p("business days earlier: UNMATCHED_LEDGER), ~1% amounts 10.00 short (AMOUNT_MISMATCH), ~1% duplicate")
        p("lines (same bank reference), ~1% withdrawals without reference (AMOUNT_DATE), batch payouts (up to 99")
        p("a day, 3-6 movements each), the rest deposits and withdrawals matched by reference; the operating")
        p("account gets ~1% fee credits (TRF-G<n>-FEE) with matching FEE movements. DIR/summary.txt counts each kind.")
        p("Investors: N/2, at most 100,000, so a virtual account recurs across deposits (each matched by")
        p("reference and amount); amounts are random, so a rare AMBIGUOUS or an accidental AMOUNT_DATE pairing")
        p("of two break items is possible. Measured: 1,000,000 lines in about 10 s, 21 MB peak RSS; a")
        p("20,000-line 3-day world runs through the real pipeline with exactly the summary's break counts open.")
        p("")
        return "\n".join(L)


# ---------------------------------------------------------------------------------------------
# Large worlds (streaming)

WORDS_DEP = ["FAST PAYMENT FROM", "GIRO CREDIT", "PAYNOW TRANSFER FROM", "INWARD FAST PAYMENT"]


def large_names(i):
    up = "%s %s" % (CN_SUR[i % len(CN_SUR)], CN_GIVEN[(i // len(CN_SUR)) % len(CN_GIVEN)])
    return up.title(), up


def va_of(i):
    # a bijection of 0..n-1 onto 8-digit numbers, VA99999999 never used
    return "VA%08d" % (10000000 + (i * 7919) % 80000000)


def clear_outputs(out, names):
    """Removes what an earlier run of ours wrote under out (only those names), so no stale day stays."""
    for n in names:
        p_ = os.path.join(out, n)
        if os.path.isdir(p_):
            shutil.rmtree(p_)
        elif os.path.exists(p_):
            os.remove(p_)


def write_large(out, n_lines, seed, days):
    clear_outputs(out, ["ledger", "statements", "summary.txt"])
    rng = random.Random(seed)
    rr = rng.random
    rand = rng.randrange
    n_inv = max(200, min(n_lines // 2, 100000))
    d0 = DEMO_DAYS[0]
    day_list = [d0]
    while len(day_list) < days:
        day_list.append(next_business_day(day_list[-1]))
    counts = {k: 0 for k in ("deposit", "withdrawal", "batch_line", "batch_movement", "unknown", "never",
                             "mismatch", "duplicate", "amount_date", "fee")}
    # ledger day 1: accounts, investors, empty offerings/subscriptions/holdings
    ld0 = os.path.join(out, "ledger", d0.isoformat())
    write_text(os.path.join(ld0, "offerings.csv"), LEDGER_HEADERS["offerings.csv"] + "\n")
    write_text(os.path.join(ld0, "subscriptions.csv"), LEDGER_HEADERS["subscriptions.csv"] + "\n")
    write_text(os.path.join(ld0, "holdings.csv"), LEDGER_HEADERS["holdings.csv"] + "\n")
    o = Out(os.path.join(ld0, "investors.csv"))
    o.write(LEDGER_HEADERS["investors.csv"] + "\n")
    buf = []
    for i in range(n_inv):
        nm, _ = large_names(i)
        buf.append("INV%08d,%s,%s,ACTIVE\n" % (i + 1, nm, va_of(i)))
        if len(buf) >= 10000:
            o.write("".join(buf))
            buf = []
    o.write("".join(buf))
    o.close()

    bal = {CLIENT: 100000000000, OPERATING: 125000000, TRUSTEE: 348021540}
    nos = {CLIENT: 1, OPERATING: 1, TRUSTEE: 1}
    wd = 10000000
    mvn = 0
    prev_close = prev_business_day(d0)
    per_day = [n_lines // days + (1 if k < n_lines % days else 0) for k in range(days)]
    for k, day in enumerate(day_list):
        ld = os.path.join(out, "ledger", day.isoformat())
        write_text(os.path.join(ld, "accounts.csv"), csv_text(LEDGER_HEADERS["accounts.csv"], ACCOUNT_ROWS))
        paths = statement_paths(os.path.join(out, "statements"), day)
        mo = Out(os.path.join(ld, "cash_movements.csv"))
        mo.write(LEDGER_HEADERS["cash_movements.csv"] + "\n")
        so = Out(paths["client"])
        sw = MT940Writer(so, sender_lt="DBSSSGSGAXXX", account=CLIENT, stmt_no=nos[CLIENT], opening_date=prev_close,
                         opening=bal[CLIENT], day=day, seq_ref="STMT%s%03d" % (yymmdd(day), nos[CLIENT] % 1000))
        co = Out(paths["operating"])
        cw = SgbankCsvWriter(co, account=OPERATING, stmt_no=nos[OPERATING], day=day, opening=bal[OPERATING])
        iso = day.isoformat()
        ymd = day.strftime("%Y%m%d")
        never_day = day
        for _ in range(5):
            never_day = prev_business_day(never_day)
        never_iso = never_day.isoformat()
        yd = "%02d%03d" % (day.year % 100, day.timetuple().tm_yday)
        ft = 0
        batches = 0
        mbuf = []
        target = per_day[k]
        written = 0
        b61 = yymmdd(day) + day.strftime("%m%d")
        while written < target:
            r = rr()
            ft += 1
            bref = "FT%s%08d" % (yd, ft)
            inv = rand(n_inv)
            va = va_of(inv)
            mvn += 1
            mid = "CM-%s-%08d" % (ymd, mvn)
            if r < 0.01:      # unknown deposit
                amt = rand(1000, 5000000)
                sw.line(mark="C", amount=amt, cust_ref="VA99999999", bref=bref,
                        narrative=["FAST PAYMENT FROM UNKNOWN SENDER", "VA99999999"])
                counts["unknown"] += 1
                written += 1
            elif r < 0.02:    # movement that never arrives
                amt = rand(1000, 5000000)
                mbuf.append("%s,%s,CREDIT,%s,SGD,%s,%s,DEPOSIT,INV%08d,\n" % (mid, CLIENT, major(amt), never_iso, va, inv + 1))
                counts["never"] += 1
            elif r < 0.03:    # amount mismatch
                amt = rand(2000, 5000000)
                mbuf.append("%s,%s,CREDIT,%s,SGD,%s,%s,DEPOSIT,INV%08d,\n" % (mid, CLIENT, major(amt), iso, va, inv + 1))
                sw.line(mark="C", amount=amt - 1000, cust_ref=va, bref=bref, narrative=["GIRO CREDIT %s" % va])
                counts["mismatch"] += 1
                written += 1
            elif r < 0.04:    # duplicate line (the copy follows at once)
                amt = rand(1000, 5000000)
                mbuf.append("%s,%s,CREDIT,%s,SGD,%s,%s,DEPOSIT,INV%08d,\n" % (mid, CLIENT, major(amt), iso, va, inv + 1))
                for _ in range(2):
                    sw.line(mark="C", amount=amt, cust_ref=va, bref=bref, narrative=["FAST PAYMENT FROM", va])
                counts["duplicate"] += 1
                written += 2
            elif r < 0.05:    # withdrawal without reference on the statement
                amt = rand(1000, 3000000)
                wd += 1
                mbuf.append("%s,%s,DEBIT,%s,SGD,%s,WD-%08d,WITHDRAWAL,INV%08d,\n" % (mid, CLIENT, major(amt), iso, wd, inv + 1))
                sw.line(mark="D", amount=amt, cust_ref="NONREF", bref=bref, narrative=["FAST PAYMENT TO OTHER BANK"])
                counts["amount_date"] += 1
                written += 1
            elif r < 0.051 and batches < 99:   # batch payout
                batches += 1
                batch = "BATCH-%s-%02d" % (ymd, batches)
                tot = 0
                for j in range(rand(3, 7)):
                    if j:
                        mvn += 1
                        mid = "CM-%s-%08d" % (ymd, mvn)
                    amt = rand(1000, 500000)
                    tot += amt
                    wd += 1
                    mbuf.append("%s,%s,DEBIT,%s,SGD,%s,WD-%08d,WITHDRAWAL,INV%08d,%s\n" % (
                        mid, CLIENT, major(amt), iso, wd, rand(n_inv) + 1, batch))
                    counts["batch_movement"] += 1
                sw.line(mark="D", amount=tot, cust_ref="NONREF", bref=bref, narrative=["GIRO BULK PAYMENT %s" % batch])
                counts["batch_line"] += 1
                written += 1
            elif r < 0.061:   # operating fee credit
                amt = rand(1000, 5000000)
                tid = "TRF-G%d-FEE" % mvn
                mbuf.append("%s,%s,CREDIT,%s,SGD,%s,%s,FEE,,\n" % (mid, OPERATING, major(amt), iso, tid))
                cw.line(mark="C", amount=amt, description="FAST TRF FROM DABS CLIENT A/C %s" % tid, bref=bref)
                counts["fee"] += 1
            elif r < 0.30 and sw.balance > 10000000:  # withdrawal
                amt = rand(1000, 3000000)
                wd += 1
                ref = "WD-%08d" % wd
                mbuf.append("%s,%s,DEBIT,%s,SGD,%s,%s,WITHDRAWAL,INV%08d,\n" % (mid, CLIENT, major(amt), iso, ref, inv + 1))
                # inlined MT940Writer.line for speed
                so.write(":61:%sD%d,%02dNTRF%s//%s\r\n:86:FAST PAYMENT TO INVESTOR\r\n%s WALLET WITHDRAWAL\r\n" % (
                    b61, amt // 100, amt % 100, ref, bref, ref))
                sw.balance -= amt
                sw.count += 1
                counts["withdrawal"] += 1
                written += 1
            else:             # deposit
                amt = rand(1000, 5000000)
                mbuf.append("%s,%s,CREDIT,%s,SGD,%s,%s,DEPOSIT,INV%08d,\n" % (mid, CLIENT, major(amt), iso, va, inv + 1))
                so.write(":61:%sC%d,%02dNTRF%s//%s\r\n:86:%s %s\r\n" % (
                    b61, amt // 100, amt % 100, va, bref, WORDS_DEP[inv & 3], va))
                sw.balance += amt
                sw.count += 1
                counts["deposit"] += 1
                written += 1
            if len(mbuf) >= 5000:
                mo.write("".join(mbuf))
                mbuf = []
        mo.write("".join(mbuf))
        mo.close()
        bal[CLIENT] = sw.finish()
        so.close()
        bal[OPERATING] = cw.finish()
        co.close()
        to = Out(paths["trustee"])
        tw = MT940Writer(to, sender_lt="HSBCSGSGAXXX", account=TRUSTEE, stmt_no=nos[TRUSTEE], opening_date=prev_close,
                         opening=bal[TRUSTEE], day=day, seq_ref="PHT%s%04d" % (yymmdd(day), nos[TRUSTEE]))
        bal[TRUSTEE] = tw.finish()
        to.close()
        write_text(paths["register"], REGISTER_HEADER + "\n")
        for a in nos:
            nos[a] += 1
        prev_close = day
    summary = ["days %d (%s..%s)" % (days, day_list[0], day_list[-1]), "investors %d" % n_inv]
    summary += ["%s %d" % (k_, v) for k_, v in counts.items()]
    write_text(os.path.join(out, "summary.txt"), "\n".join(summary) + "\n")
    return counts


def write_mt940_lines(path, n, seed):
    rng = random.Random(seed)
    rand = rng.randrange
    day = DEMO_DAYS[0]
    o = Out(path)
    w = MT940Writer(o, sender_lt="DBSSSGSGAXXX", account=CLIENT, stmt_no=1, opening_date=prev_business_day(day),
                    opening=100000000000, day=day, seq_ref="STMT%s001" % yymmdd(day))
    yd = "%02d%03d" % (day.year % 100, day.timetuple().tm_yday)
    b61 = yymmdd(day) + day.strftime("%m%d")
    buf = []
    bal = w.balance
    for i in range(n):
        amt = rand(1, 5000000)
        va = va_of(rand(1000000))
        if i % 4 == 3 and bal > 10000000:
            bal -= amt
            buf.append(":61:%sD%d,%02dNTRFWD-%08d//FT%s%08d\r\n:86:FAST PAYMENT TO INVESTOR\r\nWD-%08d WALLET WITHDRAWAL\r\n" % (
                b61, amt // 100, amt % 100, i, yd, i + 1, i))
        else:
            bal += amt
            buf.append(":61:%sC%d,%02dNTRF%s//FT%s%08d\r\n:86:FAST PAYMENT FROM %s\r\n%s REF %d\r\n" % (
                b61, amt // 100, amt % 100, va, yd, i + 1, WORDS_DEP[i & 3], va, i))
        if len(buf) >= 5000:
            o.write("".join(buf))
            buf = []
    o.write("".join(buf))
    w.balance = bal
    w.count = n
    w.finish()
    o.close()


def write_camt053_lines(path, n, seed):
    """One camt.053.001.02 statement of n booked entries (one TxDtls each) for the client-money
    account. The closing balance comes before the entries in camt, so the amounts are drawn twice
    from the same seed: once for the balance, once to write (memory stays flat)."""
    day = DEMO_DAYS[0]
    opening = 100000000000

    def entries():
        rng = random.Random(seed)
        rand = rng.randrange
        bal = opening
        for i in range(n):
            amt = rand(1, 5000000)
            va = va_of(rand(1000000))
            debit = i % 4 == 3 and bal > 10000000
            bal += -amt if debit else amt
            yield i, amt, va, debit

    close = opening
    for _, amt, _, debit in entries():
        close += -amt if debit else amt
    d = day.isoformat()
    o = Out(path)
    o.write('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n<BkToCstmrStmt>\n'
            '<GrpHdr><MsgId>CAMT-%s-BENCH</MsgId><CreDtTm>%sT23:00:00</CreDtTm></GrpHdr>\n'
            '<Stmt><Id>STMT-%s-%s</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>%sT23:00:00</CreDtTm>\n'
            '<Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>SGD</Ccy></Acct>\n' % (d, d, d, CLIENT, d, CLIENT))
    for tp, amt, dt in (("OPBD", opening, prev_business_day(day).isoformat()), ("CLBD", close, d)):
        o.write('<Bal><Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp><Amt Ccy="SGD">%s</Amt>'
                '<CdtDbtInd>%s</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>\n'
                % (tp, major(abs(amt)), "CRDT" if amt >= 0 else "DBIT", dt))
    yd = "%02d%03d" % (day.year % 100, day.timetuple().tm_yday)
    buf = []
    for i, amt, va, debit in entries():
        if debit:
            tx = ('<Refs><EndToEndId>WD-%08d</EndToEndId></Refs><RltdPties><Cdtr><Nm>INVESTOR %d</Nm></Cdtr></RltdPties>'
                  '<RmtInf><Ustrd>WD-%08d WALLET WITHDRAWAL</Ustrd></RmtInf>' % (i, i, i))
            fam = "ICDT"
        else:
            tx = ('<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties><Dbtr><Nm>PAYER %d</Nm></Dbtr></RltdPties>'
                  '<RmtInf><Ustrd>%s %s REF %d</Ustrd></RmtInf>' % (i, WORDS_DEP[i & 3], va, i))
            fam = "RCDT"
        buf.append('<Ntry><Amt Ccy="SGD">%d.%02d</Amt><CdtDbtInd>%s</CdtDbtInd><Sts>BOOK</Sts>'
                   '<BookgDt><Dt>%s</Dt></BookgDt><ValDt><Dt>%s</Dt></ValDt><AcctSvcrRef>FT%s%08d</AcctSvcrRef>'
                   '<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>%s</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>'
                   '<NtryDtls><TxDtls>%s</TxDtls></NtryDtls></Ntry>\n'
                   % (amt // 100, amt % 100, "DBIT" if debit else "CRDT", d, d, yd, i + 1, fam, tx))
        if len(buf) >= 5000:
            o.write("".join(buf))
            buf = []
    o.write("".join(buf))
    o.write("</Stmt>\n</BkToCstmrStmt>\n</Document>\n")
    o.close()


def write_csv_lines(path, n, seed):
    rng = random.Random(seed)
    rand = rng.randrange
    day = DEMO_DAYS[0]
    o = Out(path)
    w = SgbankCsvWriter(o, account=OPERATING, stmt_no=1, day=day, opening=125000000)
    d = ddmmyyyy(day)
    yd = "%02d%03d" % (day.year % 100, day.timetuple().tm_yday)
    buf = []
    bal = w.balance
    for i in range(n):
        amt = rand(1, 5000000)
        if i % 3 == 2 and bal > amt:
            bal -= amt
            buf.append('"%s","%s","GIRO PAYMENT VENDOR %d","FT%s%08d","%s","","%s"\r\n' % (
                d, d, i, yd, i + 1, thousands(amt), thousands(bal)))
        else:
            bal += amt
            buf.append('"%s","%s","FAST TRF FROM DABS CLIENT A/C TRF-G%d-FEE","FT%s%08d","","%s","%s"\r\n' % (
                d, d, i, yd, i + 1, thousands(amt), thousands(bal)))
        if len(buf) >= 5000:
            o.write("".join(buf))
            buf = []
    o.write("".join(buf))
    w.balance = bal
    w.finish()
    o.close()


# ---------------------------------------------------------------------------------------------
# Checker: parses what we write (independently of the writers) and verifies the arithmetic.

MT_AMT = re.compile(r"^([0-9]+),([0-9]{2})$")
MT_BAL = re.compile(r"^([CD])([0-9]{6})([A-Z]{3})([0-9]+,[0-9]{2})$")
MT_61 = re.compile(r"^([0-9]{6})([0-9]{4})?(C|D|RC|RD)([A-Z])?([0-9]+,[0-9]{2})N[A-Z0-9]{3}([^/]{1,16})//(.{1,16})$")


class CheckError(Exception):
    pass


def mt_amount(s):
    m = MT_AMT.match(s)
    if not m:
        raise CheckError("bad amount %r" % s)
    return int(m.group(1)) * 100 + int(m.group(2))


def check_mt940(path):
    data = open(path, "rb").read()
    if not data.endswith(b"-}\r\n"):
        raise CheckError("%s: does not end with -} CRLF" % path)
    text = data.decode("ascii")
    lines = text.split("\r\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    if any("\n" in ln or "\r" in ln for ln in lines):
        raise CheckError("%s: bare LF or CR" % path)
    if not lines[0].startswith("{1:F01") or not lines[0].endswith("{4:"):
        raise CheckError("%s:1: bad envelope" % path)
    tags = {}
    total = 0
    n = 0
    brefs = []
    for no, ln in enumerate(lines[1:-1], 2):
        m = re.match(r"^:([0-9]{2}[A-Z]?):(.*)$", ln)
        if m:
            tag, val = m.group(1), m.group(2)
            if tag == "61":
                mm = MT_61.match(val)
                if not mm:
                    raise CheckError("%s:%d: bad :61: %r" % (path, no, val))
                a = mt_amount(mm.group(5))
                total += a if mm.group(3) in ("C", "RD") else -a
                n += 1
                brefs.append(mm.group(7))
            elif tag in ("60F", "62F", "64"):
                mm = MT_BAL.match(val)
                if not mm:
                    raise CheckError("%s:%d: bad balance %r" % (path, no, val))
                a = mt_amount(mm.group(4))
                tags[tag] = (a if mm.group(1) == "C" else -a, mm.group(2))
            else:
                tags[tag] = val
        elif len(ln) > 65:
            raise CheckError("%s:%d: narrative line over 65 characters" % (path, no))
    if lines[-1] != "-}":
        raise CheckError("%s: last line is not -}" % path)
    for t in ("20", "25", "28C", "60F", "62F", "64"):
        if t not in tags:
            raise CheckError("%s: missing :%s:" % (path, t))
    if tags["60F"][0] + total != tags["62F"][0]:
        raise CheckError("%s: opening %d + lines %d != closing %d" % (path, tags["60F"][0], total, tags["62F"][0]))
    return {"account": tags["25"], "number": int(tags["28C"].split("/")[0]), "opening": tags["60F"][0],
            "closing": tags["62F"][0], "lines": n, "brefs": brefs}


def csv_fields(line):
    if not (line.startswith('"') and line.endswith('"')):
        raise CheckError("field not quoted: %r" % line)
    parts = line[1:-1].split('","')
    for p_ in parts:
        if '"' in p_:
            raise CheckError("stray quote: %r" % line)
    return parts


def th_amount(s):
    m = re.match(r"^(-?)([0-9]{1,3}(?:,[0-9]{3})*)\.([0-9]{2})$", s)
    if not m:
        raise CheckError("bad amount %r" % s)
    v = int(m.group(2).replace(",", "")) * 100 + int(m.group(3))
    return -v if m.group(1) else v


def check_sgbank(path):
    data = open(path, "rb").read()
    if not data.endswith(b"\r\n"):
        raise CheckError("%s: no final CRLF" % path)
    lines = data.decode("utf-8").split("\r\n")[:-1]
    f = [csv_fields(ln) for ln in lines]
    if f[0] != ["Account Statement"] or f[1][0] != "Account Number" or f[2] != ["Currency", "SGD"] \
            or f[3][0] != "Statement Number" or f[4][0] != "Statement Date" or f[5][0] != "Opening Balance" \
            or lines[6] != CSV_COLUMNS or f[-1][0] != "Closing Balance":
        raise CheckError("%s: not the sgbank-corp shape" % path)
    opening = th_amount(f[5][1])
    b = opening
    brefs = []
    for no, row in enumerate(f[7:-1], 8):
        if len(row) != 7:
            raise CheckError("%s:%d: %d columns" % (path, no, len(row)))
        if (row[4] == "") == (row[5] == ""):
            raise CheckError("%s:%d: exactly one of Withdrawal/Deposit must be set" % (path, no))
        b += th_amount(row[5]) if row[5] else -th_amount(row[4])
        if th_amount(row[6]) != b:
            raise CheckError("%s:%d: running balance %s, computed %s" % (path, no, row[6], thousands(b)))
        brefs.append(row[3])
    closing = th_amount(f[-1][1])
    if closing != b:
        raise CheckError("%s: closing %d != computed %d" % (path, closing, b))
    return {"account": f[1][1], "number": int(f[3][1]), "opening": opening, "closing": closing,
            "lines": len(f) - 8, "brefs": brefs}


def check_world(root):
    """Checks every statement under root/statements: arithmetic, endings, numbering and carry per account."""
    sdir = os.path.join(root, "statements")
    found = []
    for dirpath, _, files in os.walk(sdir):
        for fn in files:
            p_ = os.path.join(dirpath, fn)
            m = re.search(r"(\d{4}-\d{2}-\d{2})", os.path.relpath(p_, sdir))
            if not m:
                raise CheckError("%s: not under a date directory" % p_)
            if fn.endswith(".sta"):
                found.append((m.group(1), p_, check_mt940(p_)))
            elif fn.startswith("acct_") and fn.endswith(".csv"):
                found.append((m.group(1), p_, check_sgbank(p_)))
            elif fn.startswith("pain002_") and fn.endswith(".xml"):
                data = open(p_, "rb").read().decode("utf-8")
                if "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.03\">" not in data \
                        or not data.endswith("</Document>\n") or "\r" in data:
                    raise CheckError("%s: not a pain.002.001.03 report with LF endings" % p_)
            elif fn.startswith("register_"):
                data = open(p_, "rb").read().decode("utf-8")
                rows = data.split("\n")
                if rows[0] != REGISTER_HEADER or rows[-1] != "":
                    raise CheckError("%s: bad register header or ending" % p_)
                for no, r in enumerate(rows[1:-1], 2):
                    if not re.match(r"^\d{4}-\d{2}-\d{2},[A-Za-z0-9-]+,[A-Za-z0-9]+,[0-9]+$", r):
                        raise CheckError("%s:%d: bad register row" % (p_, no))
                    if r[:10] != m.group(1):
                        raise CheckError("%s:%d: as_of_date is not the file's date" % (p_, no))
            else:
                raise CheckError("%s: unexpected file" % p_)
    found.sort(key=lambda t: (t[2]["account"], t[0]))
    prev = {}
    nlines = 0
    for day, p_, st in found:
        a = st["account"]
        if a in prev:
            pday, pst = prev[a]
            if st["number"] != pst["number"] + 1:
                raise CheckError("%s: statement number %d after %d" % (p_, st["number"], pst["number"]))
            if st["opening"] != pst["closing"]:
                raise CheckError("%s: opening %d is not the previous closing %d" % (p_, st["opening"], pst["closing"]))
        prev[a] = (day, st)
        nlines += st["lines"]
    return len(found), nlines


# ---------------------------------------------------------------------------------------------


def main(argv):
    ap = argparse.ArgumentParser(description="Write the fixture world (see the module docstring).")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--demo", action="store_true", help="the committed demo world (fixed seed)")
    g.add_argument("--lines", type=int, metavar="N", help="a large world of about N statement lines")
    g.add_argument("--mt940-lines", type=int, metavar="N", help="one MT940 statement of N lines into FILE")
    g.add_argument("--csv-lines", type=int, metavar="N", help="one sgbank-corp CSV statement of N rows into FILE")
    g.add_argument("--camt053-lines", type=int, metavar="N", help="one camt.053 statement of N entries into FILE")
    g.add_argument("--check", metavar="DIR", help="parse-check every statement under DIR/statements")
    ap.add_argument("--out", metavar="DIR", help="output directory (--demo, --lines)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (--lines, --*-lines; default 1)")
    ap.add_argument("--days", type=int, default=1, help="business days (--lines; default 1)")
    ap.add_argument("file", nargs="?", help="output file (--mt940-lines, --csv-lines)")
    a = ap.parse_args(argv)
    try:
        if a.check:
            n, lines = check_world(a.check)
            print("%s: %d statement files, %d lines, all balanced and consecutive" % (a.check, n, lines))
            return 0
        if a.demo:
            if not a.out:
                ap.error("--demo needs --out DIR")
            d = Demo(DEMO_SEED)
            d.build()
            clear_outputs(a.out, ["ledger", "statements", "expected"])
            d.write(a.out)
            n, lines = check_world(a.out)
            print("%s: demo world written (%d statement files, %d lines)" % (a.out, n, lines))
            return 0
        if a.lines is not None:
            if not a.out or a.lines < 1 or a.days < 1:
                ap.error("--lines N (N >= 1) needs --out DIR; --days >= 1")
            counts = write_large(a.out, a.lines, a.seed, a.days)
            print("%s: %s" % (a.out, ", ".join("%s %d" % kv for kv in counts.items())))
            return 0
        if not a.file:
            ap.error("--mt940-lines/--csv-lines/--camt053-lines N need FILE")
        n = next(x for x in (a.mt940_lines, a.csv_lines, a.camt053_lines) if x is not None)
        if n < 0:
            ap.error("N must be >= 0")
        if a.mt940_lines is not None:
            write_mt940_lines(a.file, n, a.seed)
        elif a.camt053_lines is not None:
            write_camt053_lines(a.file, n, a.seed)
        else:
            write_csv_lines(a.file, n, a.seed)
        return 0
    except CheckError as e:
        print("genworld: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
