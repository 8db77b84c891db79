# SPDX-License-Identifier: LGPL-2.1-or-later
# corrald's Prometheus endpoint (metrics_listen): the page and its series for running guests
# (test driver, a real container, a real QEMU guest whose CPU counter is its process's), what
# anything but GET /metrics gets, and nothing listening while the key is off.
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request

import libvirt
import pytest

from framework.container import build_rootfs, container_xml
from framework.daemon import process_cpu_seconds, socket_inodes
from framework.qemu_fixtures import guest_files, qemu, qemu_pids, wait_for  # noqa: F401
from framework.tools import corral, domain_xml, virsh

TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f'  # test:///default's running domain 'test'
SAMPLE = re.compile(r'^([a-z_]+)(\{.*\})? (\S+)$')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def metrics(daemon):
    """The daemon restarted with the endpoint on at a free loopback port; yields the port."""
    port = free_port()
    daemon.stop()
    daemon.write_config(f'metrics_listen = 1\nmetrics_port = "{port}"\n')
    daemon.start()
    return port


def scrape(port):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10) as r:
        return r.status, r.headers['Content-Type'], r.read().decode()


def samples(page):
    """{'name{labels}': value} of every sample line; asserts every line is well formed."""
    out = {}
    for line in page.splitlines():
        if line.startswith('# HELP ') or line.startswith('# TYPE '):
            continue
        m = SAMPLE.match(line)
        assert m, f'not an exposition line: {line!r}'
        out[m.group(1) + (m.group(2) or '')] = float(m.group(3))
    return out


def raw_http(port, data):
    """Sends `data` and returns everything the endpoint answers before it closes."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(data)
        out = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def guest(driver, name, uuid):
    return f'driver="{driver}",domain="{name}",uuid="{uuid}"'


def test_page_has_host_and_guest_series(daemon, metrics, bin_dir, write_file):
    path = write_file('web.xml', domain_xml('web', memory_mib=256))
    # One client held open while scraping; it also keeps test:///default's state (with 'web')
    # from going back to the fixtures between the corral calls.
    conn = libvirt.open(daemon.uri('test'))
    try:
        assert corral(bin_dir, daemon.uri('test'), 'create', path).rc == 0
        web_uuid = corral(bin_dir, daemon.uri('test'), 'domuuid', 'web').out.strip()
        status, ctype, page = scrape(metrics)
    except BaseException:
        conn.close()
        raise
    assert status == 200
    assert ctype == 'text/plain; version=0.0.4; charset=utf-8'
    assert '# HELP corral_up ' in page and '# TYPE corral_up gauge' in page
    assert '# TYPE corral_domain_cpu_seconds_total counter' in page
    s = samples(page)
    assert s['corral_up'] == 1
    assert s['corral_clients'] >= 1
    assert s['corral_host_cpus'] == os.cpu_count()
    assert s['corral_host_memory_bytes'] > 0
    assert s['corral_domains{driver="test",state="running"}'] == 2
    assert s['corral_domains{driver="qemu",state="running"}'] == 0
    assert s['corral_driver_stats_read{driver="test"}'] == 1

    test = guest('test', 'test', TEST_UUID)
    assert s[f'corral_domain_state{{{test}}}'] == 1
    assert s[f'corral_domain_cpu_seconds_total{{{test}}}'] > 0
    assert s[f'corral_domain_memory_max_bytes{{{test}}}'] == 8388608 * 1024
    dominfo = dict(line.split(':', 1) for line in virsh(daemon.uri('test'), 'dominfo', 'test').out.splitlines()
                   if ':' in line)
    assert s[f'corral_domain_vcpus{{{test}}}'] == int(dominfo['CPU(s)'])
    web = guest('test', 'web', web_uuid)
    assert s[f'corral_domain_state{{{web}}}'] == 1
    assert s[f'corral_domain_memory_max_bytes{{{web}}}'] == 256 * 1024 * 1024
    assert s[f'corral_domain_memory_current_bytes{{{web}}}'] == 256 * 1024 * 1024
    assert s[f'corral_domain_vcpus{{{web}}}'] == 1

    # A counter only grows.
    time.sleep(0.2)
    later = samples(scrape(metrics)[2])
    assert later[f'corral_domain_cpu_seconds_total{{{test}}}'] > s[f'corral_domain_cpu_seconds_total{{{test}}}']

    # A stopped guest keeps its state series and loses its CPU counter.
    assert corral(bin_dir, daemon.uri('test'), 'destroy', 'test').rc == 0
    stopped = samples(scrape(metrics)[2])
    assert stopped[f'corral_domain_state{{{test}}}'] == 5
    assert f'corral_domain_cpu_seconds_total{{{test}}}' not in stopped
    assert stopped['corral_domains{driver="test",state="shutoff"}'] == 1
    conn.close()


def test_anything_but_get_metrics_is_refused(daemon, metrics):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f'http://127.0.0.1:{metrics}/other', timeout=10)
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f'http://127.0.0.1:{metrics}/metrics', data=b'x=1', timeout=10)
    assert e.value.code == 405
    # Garbage, binary junk (a libvirt RPC packet) and an oversized request: 400, then the
    # connection is closed (raw_http returns only at EOF).
    for junk in (b'garbage\r\n\r\n', b'\x00\x00\x00\x1c\x20\x00\x80\x86', b'GET /' + b'a' * 20000):
        answer = raw_http(metrics, junk)
        assert answer.startswith(b'HTTP/1.1 400 Bad Request\r\n'), (junk[:16], answer)
        assert b'Connection: close\r\n' in answer
    # The daemon and the endpoint carry on.
    assert virsh(daemon.uri('test'), 'list', '--name').out.split() == ['test']
    assert scrape(metrics)[0] == 200


def configure_token(daemon, tmpdir_path, token, mode):
    """Stops the daemon and writes a token file of `mode` and a configuration that serves
    metrics at a free port with it; returns (path, port)."""
    path = os.path.join(tmpdir_path, 'metrics.token')
    with open(path, 'w') as f:
        f.write(token + '\n')
    os.chmod(path, mode)
    port = free_port()
    daemon.stop()
    daemon.write_config(f'metrics_listen = 1\nmetrics_port = "{port}"\nmetrics_token_file = "{path}"\n')
    return path, port


def test_a_token_file_makes_scrapes_carry_the_token(daemon, tmpdir_path):
    token = '9f86d081884c7d659a2feaa0c55ad015'
    path, port = configure_token(daemon, tmpdir_path, token, 0o640)
    # Readable by its group: refused, naming the file, before anything listens.
    with pytest.raises(RuntimeError) as e:
        daemon.start()
    assert f"metrics_token_file '{path}' is accessible by group or others (mode 0640)" in str(e.value)
    os.chmod(path, 0o600)
    daemon.start()
    url = f'http://127.0.0.1:{port}/metrics'
    for headers in ({}, {'Authorization': 'Bearer ' + token[:-1]}, {'Authorization': 'Basic ' + token}):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        assert e.value.code == 401
        assert e.value.headers['WWW-Authenticate'] == 'Bearer realm="corral"'
    with urllib.request.urlopen(urllib.request.Request(url, headers={'Authorization': 'Bearer ' + token}),
                                timeout=10) as r:
        assert r.status == 200
        assert samples(r.read().decode())['corral_up'] == 1


def listening_sockets(pid):
    """Inodes of the TCP sockets in LISTEN state that process `pid` holds."""
    inodes = socket_inodes(pid)
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == '0A' and fields[9] in inodes:
                    found.append(fields[1])
    return found


def test_off_by_default_nothing_listens(daemon):
    port = free_port()
    daemon.stop()
    daemon.write_config(f'metrics_port = "{port}"\n')  # a port, but metrics_listen stays 0
    daemon.start()
    assert listening_sockets(daemon.pid) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', port), timeout=5)


def test_bad_values_stop_the_daemon_naming_the_key(daemon):
    daemon.stop()
    daemon.write_config('metrics_listen = 1\nmetrics_port = "99999"\n')
    with pytest.raises(RuntimeError) as e:
        daemon.start()
    assert "key 'metrics_port': invalid value '99999'" in str(e.value)


@pytest.mark.skipif(not os.path.exists('/bin/busybox'),
                    reason='busybox-static is not installed (scripts/setup.sh installs it)')
def test_a_container_cpu_counter_moves(daemon, metrics, tmpdir_path):
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))
    path = os.path.join(tmpdir_path, 'ct.xml')
    with open(path, 'w') as f:
        f.write(container_xml('ct', rootfs))
    uri = daemon.uri('lxc')
    assert virsh(uri, 'define', path).rc == 0
    r = virsh(uri, 'start', 'ct')
    assert r.rc == 0, r.err
    try:
        uuid = virsh(uri, 'domuuid', 'ct').out.strip()
        ct = guest('lxc', 'ct', uuid)
        key = f'corral_domain_cpu_seconds_total{{{ct}}}'
        wait_for(lambda: samples(scrape(metrics)[2]).get(key, 0) > 0, timeout=30, what='a CPU counter above 0')
        s = samples(scrape(metrics)[2])
        assert s[f'corral_domain_state{{{ct}}}'] == 1
        assert s['corral_domains{driver="lxc",state="running"}'] == 1
    finally:
        virsh(uri, 'destroy', 'ct')


@pytest.mark.skipif(shutil.which('qemu-system-x86_64') is None,
                    reason='qemu-system-x86 is not installed (scripts/setup.sh installs it)')
def test_a_real_qemu_guest_cpu_counter_is_its_process_cpu_time(daemon, metrics, qemu):
    qemu.start_and_boot('mq', cmdline_extra='corral.busy=1', extra_devices="<memballoon model='virtio'/>")
    (pid,) = qemu_pids('mq')
    uuid = virsh(qemu.uri, 'domuuid', 'mq').out.strip()
    mq = guest('qemu', 'mq', uuid)
    key = f'corral_domain_cpu_seconds_total{{{mq}}}'
    before = process_cpu_seconds(pid)
    s = samples(scrape(metrics)[2])
    after = process_cpu_seconds(pid)
    # The counter is read between our two reads of the same process's CPU time (a clock tick
    # of slack each way): the real thing, not a model of it.
    assert before - 0.011 <= s[key] <= after + 0.011, (before, s[key], after)
    assert s[key] > 0
    assert s[f'corral_domain_state{{{mq}}}'] == 1
    assert s['corral_domains{driver="qemu",state="running"}'] == 1
    assert s[f'corral_domain_vcpus{{{mq}}}'] == 1
    assert s[f'corral_domain_memory_max_bytes{{{mq}}}'] == 192 * 1024 * 1024
    assert s[f'corral_domain_memory_current_bytes{{{mq}}}'] == 192 * 1024 * 1024
    # The guest spins: the counter grows between scrapes.
    wait_for(lambda: samples(scrape(metrics)[2])[key] > s[key] + 0.5, timeout=60, what='the CPU counter to grow')
    # Stopped, the guest keeps its state series and loses its CPU counter.
    assert virsh(qemu.uri, 'destroy', 'mq').rc == 0
    stopped = samples(scrape(metrics)[2])
    assert stopped[f'corral_domain_state{{{mq}}}'] == 5 and key not in stopped


@pytest.mark.parametrize('sources', [['127.0.0.1'], [f'127.0.0.{i}' for i in range(2, 10)]],
                         ids=['same-address', '8-addresses'])
def test_half_sent_requests_cannot_keep_authenticated_scrapes_out(daemon, tmpdir_path, sources):
    import threading
    from framework.pressure import LatencyProbe, connect_from, is_closed_by_peer, rss_mib
    token = 'c0ffee' * 6
    _, port = configure_token(daemon, tmpdir_path, token, 0o600)
    daemon.start()
    rss_before = rss_mib(daemon)
    # 8 connections (every slot) with a request that never ends, each renewed within the
    # endpoint's 10 s deadline, and reopened at once whenever the endpoint closes one.
    stop = threading.Event()
    renewals = [0]

    def attacker():
        conns = [None] * 8
        opened = [0.0] * 8
        while not stop.is_set():
            for i in range(8):
                if conns[i] is None or is_closed_by_peer(conns[i]) or time.monotonic() - opened[i] > 9.9:
                    if conns[i] is not None:
                        conns[i].close()
                    conns[i] = connect_from(sources[i % len(sources)], port)
                    conns[i].sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n')
                    opened[i] = time.monotonic()
                    renewals[0] += 1
            stop.wait(0.01)
        for c in conns:
            c.close()

    thread = threading.Thread(target=attacker)
    thread.start()
    ok, slowest = 0, 0.0
    try:
        with LatencyProbe(daemon) as probe:
            while renewals[0] < 8:  # every slot taken before the first scrape
                time.sleep(0.01)
            request = urllib.request.Request(f'http://127.0.0.1:{port}/metrics',
                                             headers={'Authorization': 'Bearer ' + token})
            for _ in range(50):
                start = time.monotonic()
                try:
                    with urllib.request.urlopen(request, timeout=10) as r:
                        ok += r.status == 200 and b'corral_up 1' in r.read()
                except (urllib.error.URLError, OSError):
                    pass
                slowest = max(slowest, time.monotonic() - start)
    finally:
        stop.set()
        thread.join()
    print(f'\nmetrics under 8 half-sent requests from {len(sources)} address(es): {ok} of 50 scrapes answered, '
          f'slowest {slowest * 1000:.0f} ms, {renewals[0]} attacker connections; RSS {rss_before:.1f} -> '
          f'{rss_mib(daemon):.1f} MiB; root: {probe.figures()}')
    assert ok == 50
    assert slowest < 2.0
    probe.assert_served(2.0)
