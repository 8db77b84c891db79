# SPDX-License-Identifier: LGPL-2.1-or-later
# Real libvirt clients driven step by step, each step's outcome kept: ansible's community.libvirt
# playbook (tests/integration/clients/ansible_libvirt.yml) and a Sys::Virt script. The tests
# compare corrald's outcomes with Debian's libvirtd's; with CORRAL_COMPAT_DIR set they also write
# them there, and scripts/compatibility-table.py turns those files into docs/compatibility.md.
import json
import os
import re
import subprocess
import tempfile

CLIENTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'clients')


class Step:
    def __init__(self, name, ok, result):
        self.name, self.ok, self.result = name, ok, result

    def message(self):
        return str(self.result.get('msg', '')) if isinstance(self.result, dict) else str(self.result)


def run_ansible_playbook(playbook, variables, timeout=900):
    """Runs one playbook on localhost; returns its steps in order, by task name."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(variables, f)
        vars_file = f.name
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3', ANSIBLE_HOME=tempfile.mkdtemp(prefix='corral-ansible-'))
    try:
        p = subprocess.run(['ansible-playbook', '-i', 'localhost,', '-e', f'@{vars_file}',
                            os.path.join(CLIENTS_DIR, playbook)],
                           capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        os.unlink(vars_file)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f'ansible-playbook printed no report (rc {p.returncode}): {p.stderr[-3000:]}')
    steps = {}
    for play in report['plays']:
        for task in play['tasks']:
            result = task['hosts'].get('localhost', {})
            ok = not result.get('failed', False) and not result.get('unreachable', False)
            steps[task['task']['name']] = Step(task['task']['name'], ok, result)
    return steps


def record(client, target, steps):
    """Writes the outcomes to $CORRAL_COMPAT_DIR/<client>.<target>.json when that is set."""
    out_dir = os.environ.get('CORRAL_COMPAT_DIR')
    if not out_dir:
        return
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f'{client}.{target}.json'), 'w') as f:
        json.dump([{'step': s.name, 'ok': s.ok, 'message': '' if s.ok else s.message()[:300]}
                   for s in steps.values()], f, indent=1)


def run_sys_virt_script(uri, guest_xml_file, net_xml_file, pool_xml_file, timeout=600):
    """Runs clients/sys_virt.pl; returns its steps in order, by name (the value printed is the
    result, or the message on failure)."""
    p = subprocess.run(['perl', os.path.join(CLIENTS_DIR, 'sys_virt.pl'), uri, guest_xml_file, net_xml_file,
                        pool_xml_file], capture_output=True, text=True, timeout=timeout)
    steps = {}
    for line in p.stdout.splitlines():
        # The shortest name followed by a lone "ok" or "fail": no step name holds either word.
        m = re.match(r'^STEP (.+?) (ok|fail)(?: (.*))?$', line)
        if m:
            steps[m.group(1)] = Step(m.group(1), m.group(2) == 'ok', {'msg': (m.group(3) or '').strip()})
    if 'connect' not in steps:
        raise AssertionError(f'the Sys::Virt script printed no steps (rc {p.returncode}): {p.stderr[-3000:]}')
    return steps
