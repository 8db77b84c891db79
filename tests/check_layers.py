#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Enforces STYLE.md's layer rules on #include lines (includes point down only), and the
# no-throw rule in src/.
import os
import re
import sys

# Which src/ folders each folder may include (besides itself).
ALLOWED = {
    'util': set(),
    'host': {'util'},
    'conf': {'util'},
    'objects': {'util', 'conf'},
    'rpc': {'util'},
    'access': {'util', 'rpc'},
    'security': {'util', 'conf', 'host'},
    'drivers': {'util', 'conf', 'host', 'objects', 'security'},
    'daemon': {'util', 'conf', 'host', 'objects', 'security', 'rpc', 'access', 'drivers'},
    'client': {'util', 'rpc', 'daemon'},  # daemon only for the embedded test:/// server
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')


def main(root):
    problems = []
    src = os.path.join(root, 'src')
    for layer in sorted(os.listdir(src)):
        base = os.path.join(src, layer)
        if not os.path.isdir(base):
            continue
        if layer not in ALLOWED:
            problems.append(f'src/{layer}: a folder the layer table does not know')
            continue
        for dirpath, _, files in os.walk(base):
            for f in files:
                if not f.endswith(('.cpp', '.hpp')):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path) as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) != layer and m.group(1) not in ALLOWED[layer]:
                            problems.append(f'{rel}:{n}: {layer} must not include {m.group(1)}/')
                        if re.search(r'\bthrow\b', line.split('//')[0]):
                            problems.append(f'{rel}:{n}: no throw in src/ (return a Result)')
    for p in problems:
        print(p)
    print(f'{0 if problems else 1} passed, {1 if problems else 0} failed')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')))
