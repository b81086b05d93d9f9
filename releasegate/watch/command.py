"""``releasegate watch``: the observation window from the command line.

    releasegate watch --target P --for 60m --every 5m [-m MARKERS] [--resume]

Exit codes are the run's: 0 GO (only at the end of a complete window), 1 ROLLBACK decided by
readiness, 2 ROLLBACK, 3 INVESTIGATE (a breach still open), 4 INCONCLUSIVE (no data, too few
samples, a source that stopped answering, or a window cut short by Ctrl-C / SIGTERM); 64 when
it cannot start. Outputs, rewritten every cycle in --report-dir (reports/watch/): summary.json
(the state --resume continues from), cycles.jsonl (every cycle's values), report.html;
step-summary.md at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_UNUSABLE = 64
DEFAULT_DIR = "reports/watch"  # not reports/: a gate run's summary.json lives there
DESCRIPTION = ("Repeat the selected checks and the profile's watch.observations every interval "
               "over the window and decide GO / INVESTIGATE / ROLLBACK with Argo Rollouts' "
               "limits and 002 §6.3's grace clocks. A ROLLBACK stops the watch at once; GO comes "
               "only at the end of a complete window. See docs/watch.md.")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``watch`` to the command line's subcommands."""
    p = sub.add_parser("watch", help="watch a deploy over a window and decide",
                       description=DESCRIPTION)
    p.add_argument("--target", metavar="PROFILE", help="target profile (default: $RELEASEGATE_TARGET)")
    p.add_argument("--for", dest="window", metavar="DURATION",
                   help="the window, e.g. 60m, 1d, 30s (default: watch.for, else 60m)")
    p.add_argument("--every", metavar="DURATION",
                   help="the interval, e.g. 5m, 0.2s (default: watch.every, else 5m)")
    p.add_argument("-m", metavar="EXPR", help="which checks repeat: health, rollback or both "
                   "(default: both)")
    p.add_argument("--resume", action="store_true",
                   help="continue the window in --report-dir/summary.json (after a kill)")
    p.add_argument("--report-dir", metavar="DIR", help="where the outputs go (default: reports/watch/, "
                   "beside a gate run's reports/, not over them)")
    p.add_argument("--quiet", action="store_true", help="no line per cycle on stderr")
    p.set_defaults(func=cmd_watch)
    return p


def _say(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr, flush=True)


class _Background:
    """Writes the newest text it was given for each file, off the cycle's thread: a slow disk
    never delays the next sample. Texts not yet written are replaced by newer ones."""

    def __init__(self) -> None:
        import threading

        self.pending: dict[Path, str] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._run, name="releasegate-watch-writer", daemon=True).start()

    def put(self, files: dict[Path, str]) -> None:
        with self.lock:
            self.pending.update(files)
            self.idle.clear()
        self.wake.set()

    def flush(self) -> None:
        self.idle.wait(30)

    def _run(self) -> None:
        from releasegate.watch.window import write_text

        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                files, self.pending = self.pending, {}
            for path, text in files.items():
                write_text(path, text)
            with self.lock:
                if not self.pending:
                    self.idle.set()


class Outputs:
    """Writes the window's outputs after every cycle.

    summary.json (what --resume reads) and report.html are written by background threads, so
    a slow disk never delays the next sample (ext4 flushes a file renamed over another: ~10 ms
    on a busy machine); the final write waits for both, and a kill between two cycles loses at
    most the cycle being written, which --resume samples again or counts as missed. Reasons
    are masked when they are recorded (Window), so a cycle writes without running the redactor
    over the whole report; the final write masks everything once more. Each cycle's JSON is
    made once and kept: summary.json costs the same at cycle 500 as at cycle 5.
    """

    def __init__(self, out: Path, target: Any, quiet: bool, written: int = 0) -> None:
        self.out, self.quiet, self.written = out, quiet, written
        self.redact = target.redactor().text
        self.rows: dict[int, str] = {}
        out.mkdir(parents=True, exist_ok=True)
        self.writer = _Background()
        self.charts: dict[str, Any] = {}  # each chart's drawn points, kept between cycles
        self.jsonl = open(out / "cycles.jsonl", "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def __call__(self, st: Any) -> None:
        from releasegate.watch.report import html_report, step_summary, verdict_line
        from releasegate.watch.window import write_text

        new = []
        for row in reversed(st.cycles):  # the rows cycles.jsonl does not have yet
            if row["cycle"] < self.written:
                break
            new.insert(0, row)
        if new and not self.jsonl.closed:
            for row in new:
                self.rows[row["cycle"]] = json.dumps(row, separators=(",", ":"), default=str)
                self.jsonl.write(self.rows[row["cycle"]] + "\n")  # line-buffered: a kill keeps it
            self.written = new[-1]["cycle"] + 1
        final = st.decision is not None
        mask = self.redact if final else str
        if st.decided_by and st.decided_by.get("reason"):
            st.decided_by["reason"] = self.redact(st.decided_by["reason"])
        self.writer.put({self.out / "summary.json": self._summary(st),
                         self.out / "report.html": mask(html_report(st, final=final, cache=self.charts))})
        if final:
            self.writer.flush()
            self.jsonl.close()
        if final:  # for CI: written once, when the window has its decision
            write_text(self.out / "step-summary.md", mask(step_summary(st)))
        if final and os.environ.get("GITHUB_STEP_SUMMARY"):
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
                fh.write(self.redact(step_summary(st)))
        if not self.quiet and new:
            row = new[-1]
            bad = {n: p for n, p in row["phases"].items() if p != "Successful"}
            _say(f"cycle {row['cycle'] + 1}/{st.slots} at +{row['t']:g}s: " + (
                ", ".join(f"{n} {p}" for n, p in bad.items()) if bad else "all held"))
        if final:
            _say(self.redact(verdict_line(st)) + f" (exit {st.exit_code}); report {self.out / 'report.html'}")

    def _summary(self, st: Any) -> str:
        data = st.to_dict()
        cycles = data.pop("cycles")
        kept = {c["cycle"] for c in cycles}
        for gone in [n for n in self.rows if n not in kept]:  # thinned out of the window's list
            del self.rows[gone]
        rows = ",".join(self.rows.get(c["cycle"]) or json.dumps(c, separators=(",", ":"), default=str)
                        for c in cycles)
        return json.dumps(data, separators=(",", ":"), default=str)[:-1] + f',"cycles":[{rows}]}}'


def cmd_watch(ns: argparse.Namespace, extra: list[str]) -> int:
    from releasegate.core.errors import ProfileError
    from releasegate.core.profile import load_target
    from releasegate.watch.checks import opened
    from releasegate.watch.spec import read_spec
    from releasegate.watch.window import Window, WindowState, new_state

    path = ns.target or os.environ.get("RELEASEGATE_TARGET")
    if not path:
        _say("no target profile: pass --target PROFILE or set RELEASEGATE_TARGET")
        return EXIT_UNUSABLE
    try:
        target = load_target(path)
        spec = read_spec(target.section("watch"), window=ns.window, every=ns.every)
    except (ProfileError, ValueError) as exc:
        _say(str(exc))
        return EXIT_UNUSABLE
    out = Path(ns.report_dir or DEFAULT_DIR)
    state: WindowState | None = None
    if ns.resume:
        try:
            state = WindowState.from_dict(json.loads((out / "summary.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _say(f"--resume: cannot read {out / 'summary.json'}: {exc}")
            return EXIT_UNUSABLE
        if state.target != target.name:
            _say(f"--resume: {out / 'summary.json'} is a window of {state.target}, not {target.name}")
            return EXIT_UNUSABLE
        if state.complete or state.stopped_early:
            _say(f"--resume: that window already ended: {state.decision}")
            return int(state.exit_code or 0)
        state.resumed += 1
        state.interrupted, state.decision, state.decided_by = False, None, None
        markers = state.markers
    else:
        markers = ns.m
    with opened(target, markers) as checks:
        if not checks.checks and not spec.observations:
            _say(f"nothing to watch in {path}: no check selected by -m {markers or '(health, rollback)'} "
                 "has its section in the profile, and it has no watch.observations (docs/watch.md)")
            return EXIT_UNUSABLE
        added = ({o.name for o in spec.observations} | {c.name for c in checks.checks}) - \
            set(state.trackers if state is not None else ())
        if state is not None and added:
            _say(f"--resume: the profile changed since the window started ({', '.join(sorted(added))} "
                 "is new); start a new window")
            return EXIT_UNUSABLE
        if state is None:
            try:
                deploy = _deploy(target, spec, ns.quiet)
            except KeyboardInterrupt:  # Ctrl-C / SIGTERM while waiting for Argo CD
                deploy = {"settled": False, "broken": False, "refused": False, "interrupted": True,
                          "summary": "interrupted while waiting", "polls": 0, "waited_s": 0.0,
                          "application": spec.deploy["argocd"]["application"]}
            state = new_state(target, spec, checks, markers, time.time())
            if deploy is not None:
                state.deploy = deploy
                if not deploy["settled"]:
                    return _unsettled(state, Outputs(out, target, ns.quiet), deploy)
        outputs = Outputs(out, target, ns.quiet, written=_last_row(out / "cycles.jsonl") + 1
                          if ns.resume else 0)
        if not ns.quiet:
            _say(f"watching {target.name}: {state.slots} cycles every {state.every_s:g}s; "
                 f"report {out / 'report.html'}")
        Window(target, spec, checks, state, on_cycle=outputs).run()
    return int(state.exit_code if state.exit_code is not None else 4)


def _last_row(path: Path) -> int:
    """The last cycle cycles.jsonl has (-1: none): a resumed window appends after it."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - 65536, 0))
            lines = fh.read().splitlines()
        return int(json.loads(lines[-1])["cycle"]) if lines else -1
    except (OSError, ValueError, KeyError, IndexError):
        return -1


def _deploy(target: Any, spec: Any, quiet: bool) -> dict[str, Any] | None:
    if not spec.deploy:
        return None
    from releasegate.watch.argocd import wait_settled

    settle = wait_settled(target, spec.deploy, log=(lambda _: None) if quiet else _say)
    return {"settled": settle.settled, "broken": settle.broken, "refused": settle.refused,
            "summary": target.redactor().text(settle.summary),
            "polls": settle.polls, "waited_s": settle.waited_s,
            "application": spec.deploy["argocd"]["application"]}


def _unsettled(state: Any, outputs: Outputs, deploy: dict[str, Any]) -> int:
    """003 §4.2: nothing is judged on a deploy that did not settle. Degraded, Missing or a failed
    sync is a ROLLBACK; still progressing when the wait ran out, or Argo CD refusing the read
    (token, project, name), is INCONCLUSIVE."""
    from releasegate.watch.judge import ROLLBACK, UNDECIDED

    state.decision = ROLLBACK if deploy["broken"] else UNDECIDED
    state.stopped_early = True  # no window ran: --resume has nothing to continue
    state.interrupted = bool(deploy.get("interrupted"))
    what = "broke" if deploy["broken"] else ("could not be read" if deploy["refused"] else
                                             "was not waited for to the end: window incomplete"
                                             if state.interrupted else
                                             f"did not settle within {deploy['waited_s']:g}s")
    state.decided_by = {"name": "deploy", "reason": f"Argo CD application {deploy['application']} "
                        f"{what}: {deploy['summary']} (003 §4.2)"}
    outputs(state)
    return int(state.exit_code or 4)
