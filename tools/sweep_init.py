"""`./hv sweep --path pal-call --event init`: the INIT variant's lines and report.

The guest (guest/pal64/case_sweep_init.c) has CPU 1 call the adder PAL and the
boot CPU send it an INIT k instructions after the round starts, then SIPIs until
CPU 1 is back; one line per round:

    SWEEP-INIT: r=<round> k=<delay> state=<s> gone=<0|1> zero=<0|1> sipis=<n> cpu1=<f> ret=<n>

state: where the INIT froze CPU 1 (1 before the call, 2 in it, 3 after it
returned right, 4 after a wrong answer); gone: the PAL was unregistered by then;
zero: its params and stack pages read zero (1 when not gone); cpu1: 1 restarted
by SIPI, 2 never reset (the INIT had no effect), 0 lost; ret: how the call it
was in ended (3 right, 4 wrong, 0 not returned). TrustVisor prints
"hv: tv: INIT on cpu N while PAL ..." for each PAL call an INIT ended.
"""

import collections
import re

_LINE = re.compile(r"^SWEEP-INIT: r=(\d+) k=(\d+) state=(\d+) gone=(\d+) zero=(\d+) sipis=(\d+) "
                   r"cpu1=(\d+) ret=(\d+)$")
_END = re.compile(r"^SWEEP-INIT-END: rounds=(\d+) .* end=([\w-]+)$")
_HV_ENDED = re.compile(r"hv: tv: INIT on cpu \d+ while PAL \d+ ran: call ended, PAL (.*)$")
STATES = {1: "before the call", 2: "in the call", 3: "after it returned", 4: "after a wrong answer"}
FATES = {1: "restarted by SIPI", 2: "never reset (the INIT had no effect: Bochs 2.7)",
         0: "lost (reset, no SIPI restarts it: Bochs 2.7 keeps the INIT pending)"}
IN_CALL, WRONG = 2, 4


class Round:
    __slots__ = ("r", "k", "state", "gone", "zero", "sipis", "cpu1", "ret")

    def __init__(self, m):
        self.r, self.k, self.state, self.gone, self.zero, self.sipis, self.cpu1, self.ret = (
            int(m.group(i)) for i in range(1, 9))

    def outcomes(self):
        bad = []
        if self.state == WRONG or self.ret == WRONG:
            bad.append("wrong")
        if self.gone and self.state != IN_CALL:
            bad.append("gone-outside-call")
        if self.gone and not self.zero:
            bad.append("not-scrubbed")
        return bad


def parse(text):
    """(rounds, the guest's end or None, the hypervisor's 'call ended' lines)."""
    rounds, end, ended = [], None, []
    for line in text.splitlines():
        line = line.strip()
        m = _LINE.match(line)
        if m:
            rounds.append(Round(m))
            continue
        m = _END.match(line)
        if m:
            end = m.group(2)
            continue
        m = _HV_ENDED.search(line)
        if m:
            ended.append(m.group(1))
    return rounds, end, ended


def report(rounds, end, ended, out, status="poweroff", window=False):
    """Prints the summary; returns the number of bad outcomes (a failed run counts).
    A sweep that ended because CPU 1 was lost (end cpu1-lost, Bochs 2.7) is not
    one: the rounds up to it were checked."""
    w = out.write
    ks = [rd.k for rd in rounds]
    w("sweep: INIT rounds %d (delays %s..%s), end: %s\n" % (
        len(rounds), min(ks) if ks else "-", max(ks) if ks else "-",
        end or "none (run cut short)"))
    by_state = collections.Counter(rd.state for rd in rounds)
    gone = collections.Counter(rd.state for rd in rounds if rd.gone)
    for s in sorted(by_state):
        w("sweep:   INIT met CPU 1 %-22s %5d rounds, PAL ended and scrubbed in %d\n" % (
            STATES.get(s, "state %d" % s) + ":", by_state[s], gone[s]))
    in_call = [rd.k for rd in rounds if rd.state == IN_CALL]
    ended_k = [rd.k for rd in rounds if rd.gone]
    if ended_k:
        w("sweep:   the PAL was ended at delays %d..%d; in the call without ending it: %d "
          "rounds (the INIT met the guest's side of tv64_call, or had no effect)\n" % (
              min(ended_k), max(ended_k), len(in_call) - len(ended_k)))
    fates = collections.Counter(rd.cpu1 for rd in rounds)
    for f in sorted(fates):
        w("sweep:   CPU 1 %s: %d rounds\n" % (FATES.get(f, "fate %d" % f), fates[f]))
    sipis = [rd.sipis for rd in rounds if rd.cpu1 == 1]
    if sipis:
        w("sweep:   SIPIs until CPU 1 was back: 1..%d (mean %.1f)\n" % (
            max(sipis), sum(sipis) / len(sipis)))
    bad = collections.Counter()
    shown = 0
    for rd in rounds:
        b = rd.outcomes()
        for x in b:
            bad[x] += 1
        if b and shown < 20:
            shown += 1
            w("sweep: bad INIT round r=%d k=%d state=%d gone=%d zero=%d: %s\n" % (
                rd.r, rd.k, rd.state, rd.gone, rd.zero, " ".join(b)))
    # Each PAL call the hypervisor ended is one the guest found gone, and the
    # hypervisor scrubbed every one of them (none left to a teardown).
    n_gone = sum(1 for rd in rounds if rd.gone)
    mismatch = abs(len(ended) - n_gone)
    not_scrubbed_hv = sum(1 for e in ended if not e.startswith("scrubbed"))
    w("sweep: hypervisor: %d PAL calls ended by an INIT (%d scrubbed), guest found %d gone\n" % (
        len(ended), len(ended) - not_scrubbed_hv, n_gone))
    names = ("wrong", "gone-outside-call", "not-scrubbed")
    w("sweep: outcomes: %s, hv-count-mismatch %d, run %s\n" % (
        ", ".join("%s %d" % (n, bad[n]) for n in names), mismatch, status))
    return (sum(bad.values()) + mismatch + not_scrubbed_hv + (status != "poweroff")
            + (end not in ("passed", "cpu1-lost") and not window))
