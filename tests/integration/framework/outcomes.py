# SPDX-License-Identifier: LGPL-2.1-or-later
# What an integration run ended with: one outcome per test, every skip with its reason, and the
# verdict on skips against tests/integration/allowed_skips.txt (a skip not on it fails the run).
import fnmatch
import json
import os
from dataclasses import dataclass, field

ALLOWED_SKIPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'allowed_skips.txt')


@dataclass
class AllowedSkip:
    test: str     # fnmatch pattern on "test_file.py::test_name[params]"
    reason: str   # fnmatch pattern on the skip's reason
    fact: str     # the host fact that makes the test skip
    line: int


def load_allowed_skips(path=ALLOWED_SKIPS):
    """Entries are `test pattern | reason pattern | host fact`, one a line; '#' starts a comment."""
    entries = []
    with open(path) as f:
        for number, text in enumerate(f, 1):
            text = text.strip()
            if not text or text.startswith('#'):
                continue
            parts = [p.strip() for p in text.split('|')]
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"{path}:{number}: expected 'test pattern | reason pattern | host fact'")
            entries.append(AllowedSkip(parts[0], parts[1], parts[2], number))
    return entries


def short_id(nodeid):
    """'tests/integration/test_x.py::test_y[a]' -> 'test_x.py::test_y[a]', whatever the rootdir."""
    path, sep, rest = nodeid.partition('::')
    return os.path.basename(path) + sep + rest


def skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = longrepr[2]
    else:
        reason = str(longrepr)
    return reason[len('Skipped: '):] if reason.startswith('Skipped: ') else reason


@dataclass
class Outcomes:
    allowed: list
    results: dict = field(default_factory=dict)  # short id -> 'passed' | 'failed' | 'skipped' | 'xfailed'
    skips: dict = field(default_factory=dict)    # short id -> reason

    def record(self, report):
        """Folds one phase's report (setup, call, teardown, or a collection) into its test's outcome:
        any failure fails the test, a skip skips it, and it passed only if every phase passed."""
        test = short_id(report.nodeid)
        previous = self.results.get(test)
        if report.failed:
            self.results[test] = 'failed'
        elif report.skipped and previous != 'failed':
            if hasattr(report, 'wasxfail'):
                self.results[test] = 'xfailed'
                self.skips[test] = 'expected to fail: ' + (report.wasxfail or 'no reason given')
            else:
                self.results[test] = 'skipped'
                self.skips[test] = skip_reason(report)
        elif report.passed and previous is None and getattr(report, 'when', 'call') == 'call':
            self.results[test] = 'passed'

    def allowance(self, test, reason):
        for entry in self.allowed:
            if fnmatch.fnmatchcase(test, entry.test) and fnmatch.fnmatchcase(reason, entry.reason):
                return entry
        return None

    def counts(self):
        counts = {'passed': 0, 'failed': 0, 'skipped': 0, 'xfailed': 0}
        for outcome in self.results.values():
            counts[outcome] += 1
        return counts

    def skip_verdicts(self):
        """[(test, reason, matching allow-list entry or None)] for every skipped or xfailed test."""
        return [(test, reason, self.allowance(test, reason))
                for test, reason in sorted(self.skips.items()) if self.results.get(test) in ('skipped', 'xfailed')]

    def unexplained(self):
        return [(test, reason) for test, reason, entry in self.skip_verdicts() if entry is None]

    def summary_lines(self):
        c = self.counts()
        lines = [f"integration: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
                 + (f", {c['xfailed']} xfailed" if c['xfailed'] else '')]
        for test, reason, entry in self.skip_verdicts():
            if entry:
                lines.append(f'  skipped {test}: {reason} (allowed: {entry.fact})')
            else:
                lines.append(f'  SKIP NOT ALLOWED {test}: {reason} (not in {os.path.relpath(ALLOWED_SKIPS)})')
        return lines

    def as_json(self, seconds):
        return {'counts': self.counts(), 'seconds': round(seconds, 1),
                'tests': self.results,
                'skips': [{'test': t, 'reason': r, 'allowed': bool(e), 'fact': e.fact if e else None}
                          for t, r, e in self.skip_verdicts()]}


def write_results(path, outcomes, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(outcomes.as_json(seconds), f, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)
