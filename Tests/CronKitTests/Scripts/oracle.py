#!/usr/bin/env python3
"""Oracle for CronKit: random cron expressions and start times, answered by cronsim.

Prints one JSON object per line:
  {"expr": ..., "zone": ..., "start": <epoch seconds, maybe fractional>,
   "fires": [<next 5 fire times as epoch seconds>]}     (fewer if cronsim stops)
or, for expressions cronsim rejects,
  {"expr": ..., "error": <field name from cronsim's message, or null>}
and, where cronsim does not answer within a second (it loops forever in a few
fall-back hours) or, following real time, answers a time that is not after
the previous one (its iterator then repeats it forever), the fire times it
gave before that and "stuck": true.

Usage: python3 oracle.py --seed 1 --count 3000
Needs cronsim 2.8 (pip install cronsim).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

try:
    from cronsim import CronSim, CronSimError
except ImportError:
    sys.exit("oracle.py: cronsim is missing; run: pip install cronsim")

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",  # no DST
    "America/Sao_Paulo",  # DST until 2019, changing at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "UTC",
]

# Nicknames as CronKit maps them (Debian cron's documented equivalents).
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()
RANGES = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "dow": (0, 7)}

FIRST_YEAR, LAST_YEAR = 1996, 2040


def epoch(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp())


def transitions(name: str) -> list[int]:
    """UTC seconds of every offset change between FIRST_YEAR and LAST_YEAR."""
    tz = ZoneInfo(name)

    def offset(t: int) -> float:
        return datetime.fromtimestamp(t, tz).utcoffset().total_seconds()

    found = []
    t, end = epoch(FIRST_YEAR), epoch(LAST_YEAR)
    prev = offset(t)
    while t < end:
        t2 = t + 43200
        now = offset(t2)
        if now != prev:
            lo, hi = t, t2  # offset(lo) == prev, offset(hi) == now
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            prev = now
        t = t2
    return found


class Generator:
    def __init__(self, rng: random.Random):
        self.r = rng

    def name_case(self, text: str) -> str:
        c = self.r.random()
        return text.lower() if c < 0.2 else text.capitalize() if c < 0.3 else text

    def value(self, field: str) -> str:
        r = self.r
        lo, hi = RANGES[field]
        if field == "hour" and r.random() < 0.6:
            return str(r.choice([0, 1, 2, 2, 2, 3, 3, 23]))
        if field == "minute" and r.random() < 0.5:
            return str(r.choice([0, 0, 15, 30, 30, 45, 59]))
        if field == "month" and r.random() < 0.3:
            return self.name_case(MONTHS[r.randint(1, 12) - 1])
        if field == "dow" and r.random() < 0.3:
            return self.name_case(DAYS[r.randint(0, 6)])
        if field == "day" and r.random() < 0.3:
            return str(r.choice([1, 28, 29, 30, 31]))
        v = r.randint(lo, hi)
        return f"0{v}" if r.random() < 0.03 else str(v)

    def term(self, field: str) -> str:
        r = self.r
        lo, hi = RANGES[field]
        k = r.random()
        if k < 0.45:
            return self.value(field)
        if k < 0.6:
            a, b = sorted([r.randint(lo, hi), r.randint(lo, hi)])
            return f"{a}-{b}"
        if k < 0.72:
            return f"*/{r.randint(1, hi - lo + 3)}"
        if k < 0.8:
            a, b = sorted([r.randint(lo, hi), r.randint(lo, hi)])
            return f"{a}-{b}/{r.randint(1, 12)}"
        if k < 0.87:
            return f"{self.value(field)}/{r.randint(1, 20)}"
        if field == "day" and k < 0.95:
            return r.choice(["L", "LW", "L", "LW", "L/3", "*"])
        if field == "dow" and k < 0.95:
            if r.random() < 0.5:
                return f"{r.randint(0, 7)}L"
            return f"{self.name_case(DAYS[r.randint(0, 6)]) if r.random() < 0.5 else r.randint(0, 7)}#{r.randint(1, 5)}"
        if field == "month" and k < 0.95:
            return f"{self.name_case(MONTHS[r.randint(0, 5)])}-{self.name_case(MONTHS[r.randint(6, 11)])}"
        return "*"

    def field(self, field: str, star: float) -> str:
        r = self.r
        if r.random() < star:
            return "*" if r.random() < 0.9 else f"*/{r.randint(1, 6)}"
        n = 1 if r.random() < 0.7 else r.randint(2, 4)
        terms = [self.term(field) for _ in range(n)]
        if r.random() < 0.03:
            terms.insert(0, "*")  # "*,5" starts with a star: day fields then AND
        return ",".join(terms)

    def expression(self) -> str:
        r = self.r
        if r.random() < 0.05:
            nick = r.choice(list(NICKNAMES))
            return nick.upper() if r.random() < 0.1 else nick
        fields = [
            self.field("minute", 0.25),
            self.field("hour", 0.3),
            self.field("day", 0.7),
            self.field("month", 0.7),
            self.field("dow", 0.7),
        ]
        if r.random() < 0.25:
            fields.insert(0, self.field("second", 0.2) if r.random() < 0.7 else "0")
        sep = r.choice([" ", " ", " ", "  ", "\t"])
        text = sep.join(fields)
        return f" {text} " if r.random() < 0.05 else text

    def invalid(self) -> str:
        """Mostly broken expressions, to compare which field is blamed."""
        r = self.r
        fields = self.expression()
        if fields.startswith("@"):
            fields = NICKNAMES[fields.lower()]
        parts = fields.split()
        k = r.random()
        if k < 0.1:
            return " ".join(parts[: r.choice([0, 1, 3, 4])] if len(parts) == 5 else parts + ["1"])
        i = r.randrange(len(parts))
        names = ["second", "minute", "hour", "day", "month", "dow"][6 - len(parts):]
        lo, hi = RANGES[names[i]]
        junk = [
            str(hi + 1), str(lo - 1) if lo > 0 else "-1", f"{hi}-{lo}", "*/0", "1/0", "FOO", "1X", "?", "15W",
            "L", "5L", "LW", "MON#6", "MON#0", "1#2", "", "*/", "/5", "1-", "-5", "1,,2", "**", "*-5", "1-2-3",
            "8L", "L5", "X#1", "MON#x", "3-L", "JUL", "99999999999999999999", "0x1F", "1.5", "*/1/2", "SUN-7",
            "7-SUN", "L/2", "LW/0", "MON/2", "JAN/3", "2/JAN",
        ]
        parts[i] = r.choice(junk) or "1,"
        if r.random() < 0.2:
            parts[i] = f"{self.term(names[i])},{parts[i]}"
        if r.random() < 0.15 and len(parts) >= 5:
            # Days no selected month has; an error only when the fields AND.
            parts[-3], parts[-2] = r.choice(["30", "31", "30,31", "31,30-31"]), r.choice(["2", "FEB", "4,6", "2,11"])
        return " ".join(parts)

    def garbage(self) -> str:
        r = self.r
        alphabet = "0123456789*,-/#LW?ABCDEFJMNOSTUYlw @\t" + "\u00a0\u2003\u017f\u0131\uff11"
        return "".join(r.choice(alphabet) for _ in range(r.randint(0, 24)))


def start_time(rng: random.Random, trans: list[int]) -> float:
    k = rng.random()
    if trans and k < 0.7:
        t = rng.choice(trans)
        k2 = rng.random()
        if k2 < 0.15:
            t += rng.choice([-1, 0, 1, -60, 60, -1800, 1800, -3600, 3600])
        elif k2 < 0.75:
            t += rng.randint(-4 * 3600, 4 * 3600)
        else:
            t += rng.randint(-3 * 86400, 3 * 86400)
    else:
        t = rng.randint(epoch(FIRST_YEAR), epoch(LAST_YEAR))
    if rng.random() < 0.3:
        t -= t % rng.choice([60, 900, 1800, 3600])  # on a likely fire time
    if rng.random() < 0.12:
        return t + rng.randint(1, 999) / 1000
    return t


def probe(rng: random.Random, name: str, trans: list[int]) -> tuple[str, float] | None:
    """An expression and start aimed at one DST change of the zone: a fixed
    time inside a spring-forward gap, or a start inside the second pass of a
    fall-back hour (where cronsim's wall-clock fixup can answer a time before
    the start)."""
    if not trans:
        return None
    tz = ZoneInfo(name)
    t = rng.choice(trans)
    before = datetime.fromtimestamp(t - 1, tz).utcoffset().total_seconds()
    after = datetime.fromtimestamp(t, tz).utcoffset().total_seconds()
    shift = int(abs(before - after))
    if after < before:  # fall-back: start in the repeated wall time
        start = t + rng.randint(0, max(shift - 1, 0))
        wall = datetime.fromtimestamp(start, tz)
        hour, minute = wall.hour, wall.minute
    else:  # spring-forward: a wall time that does not exist
        wall = datetime.fromtimestamp(t - 1, tz)
        missing = wall.hour * 60 + wall.minute + 1 + rng.randint(0, max(shift // 60 - 1, 0))
        hour, minute = missing // 60 % 24, missing % 60
        start = t - rng.randint(1, 3 * 86400)
    minutes = sorted({minute, rng.randint(0, 59), (minute + rng.choice([1, 5, 15, 30])) % 60})
    k = rng.random()
    m = str(minute) if k < 0.4 else ",".join(map(str, minutes)) if k < 0.7 else f"{minute % 15}/15"
    h = str(hour) if rng.random() < 0.6 else f"{hour},{(hour + 1) % 24}"
    expr = f"{m} {h} * * *"
    if rng.random() < 0.25:
        expr = f"{rng.choice(['0', '*/20', '30'])} {expr}"  # six fields: no fixup
    elif rng.random() < 0.2:
        expr = f"*/{rng.choice([7, 10, 15, 30])} {h} * * *"  # wildcard minute: no fixup
    return expr, start


NEVER = ["0 0 */30 2 MON#5", "0 12 *,30 2 6#5", "*/5 * */31 4,6 SUN#5", "0 0 * 2 MON#5", "0 0 * 2 1#5,2#5"]


class Hang(Exception):
    pass


def on_alarm(signum, frame):
    raise Hang()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=3000)
    args = ap.parse_args()

    signal.signal(signal.SIGALRM, on_alarm)
    rng = random.Random(args.seed)
    gen = Generator(rng)
    trans = {name: transitions(name) for name in ZONES}
    out = sys.stdout
    for _ in range(args.count):
        k = rng.random()
        zone = rng.choice(ZONES)
        start = start_time(rng, trans[zone])
        if k < 0.7:
            expr = gen.expression()
        elif k < 0.8:
            expr, start = probe(rng, zone, trans[zone]) or (gen.expression(), start)
        elif k < 0.81:
            expr = rng.choice(NEVER)
        elif k < 0.93:
            expr = gen.invalid()
        else:
            expr = gen.garbage()
        text = expr
        words = expr.split()
        if words and words[0].startswith("@"):
            # CronKit reads a leading "@" as a nickname; anything else is refused.
            if len(words) != 1 or words[0].lower() not in NICKNAMES:
                out.write(json.dumps({"expr": expr, "error": None}) + "\n")
                continue
            text = NICKNAMES[words[0].lower()]
        begin = datetime.fromtimestamp(start, ZoneInfo(zone))
        try:
            it = CronSim(text, begin)
        except CronSimError as e:
            msg = str(e)
            field = msg[4:] if msg.startswith("Bad ") else None
            out.write(json.dumps({"expr": expr, "error": field}) + "\n")
            continue
        fires, stuck, previous = [], False, int(start // 1)
        for _ in range(5):
            signal.setitimer(signal.ITIMER_REAL, 1.0)
            try:
                fire = int(next(it).timestamp())
            except StopIteration:
                break
            except Hang:
                stuck = True
                break
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if it.fixup_tz is None and fire <= previous:
                stuck = True  # only the wall-clock fixup may go back, in a fold
                break
            fires.append(fire)
            previous = fire
        entry = {"expr": expr, "zone": zone, "start": start, "fires": fires}
        if stuck:
            entry["stuck"] = True
        out.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
