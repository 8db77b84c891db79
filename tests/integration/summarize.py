# SPDX-License-Identifier: LGPL-2.1-or-later
# Adds up the integration results each test file's run wrote (conftest.py --corral-results):
# passed/failed/skipped counts, every skip with its reason and whether allowed_skips.txt
# explains it, and each file's time. Exits 1 when a test failed or a skip is not explained.
#
#   summarize.py RESULTS_DIR [FILE_STEM...]      stems name the files expected to have run
import json
import os
import sys


def main(argv):
    if len(argv) < 2:
        print('usage: summarize.py RESULTS_DIR [FILE_STEM...]', file=sys.stderr)
        return 2
    results_dir, expected = argv[1], argv[2:]
    runs = {}
    if os.path.isdir(results_dir):
        for name in sorted(os.listdir(results_dir)):
            if name.endswith('.json'):
                with open(os.path.join(results_dir, name)) as f:
                    runs[name[:-len('.json')]] = json.load(f)
    totals = {'passed': 0, 'failed': 0, 'skipped': 0, 'xfailed': 0}
    skips = []
    for stem, run in runs.items():
        for key in totals:
            totals[key] += run['counts'].get(key, 0)
        skips += run['skips']
    unexplained = [s for s in skips if not s['allowed']]
    print(f"integration: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
          + (f", {totals['xfailed']} xfailed" if totals['xfailed'] else '')
          + f" ({len(unexplained)} not explained by tests/integration/allowed_skips.txt), {len(runs)} files")
    for s in skips:
        if s['allowed']:
            print(f"  skipped {s['test']}: {s['reason']} (allowed: {s['fact']})")
        else:
            print(f"  SKIP NOT ALLOWED {s['test']}: {s['reason']}")
    for stem, run in sorted(runs.items(), key=lambda item: -item[1]['seconds']):
        c = run['counts']
        print(f"  {stem}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped in {run['seconds']:.0f} s")
    missing = [stem for stem in expected if stem not in runs]
    if missing:
        print('  no results (not run, or the run ended before writing them): ' + ', '.join(missing))
    return 1 if totals['failed'] or unexplained else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
