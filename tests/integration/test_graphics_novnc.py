# SPDX-License-Identifier: LGPL-2.1-or-later
# A guest's screen in a browser: VNC's websocket (<graphics websocket='-1'>, a port from
# qemu.conf's websocket range chosen at start) opened by Debian's noVNC in Debian's chromium
# (headless, driven by chromedriver through python3-selenium). The page authenticates with the
# display's password, and what its canvas shows is what QEMU's own screendump of the guest shows;
# a wrong password leaves the page with "Authentication failed" and no screen.
import base64
import os
import re
import socket
import subprocess

import pytest

from framework.qemu_fixtures import guest_files, guest_xml, serial_text, wait_for  # noqa: F401
from framework.tools import virsh

NOVNC = '/usr/share/novnc'
CHROMEDRIVER = '/usr/bin/chromedriver'

pytestmark = pytest.mark.skipif(not (os.path.isdir(NOVNC) and os.path.exists(CHROMEDRIVER)),
                                reason='novnc or chromium-driver is not installed (scripts/setup.sh installs them)')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def novnc_site():
    """noVNC's files served over HTTP on 127.0.0.1, as an administrator would serve them."""
    port = free_port()
    server = subprocess.Popen(['/usr/bin/python3', '-m', 'http.server', '--bind', '127.0.0.1', str(port),
                               '--directory', NOVNC], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: socket.socket().connect_ex(('127.0.0.1', port)) == 0, timeout=30, what='the HTTP server')
    yield f'http://127.0.0.1:{port}'
    server.terminate()
    server.wait()


@pytest.fixture
def browser(tmpdir_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                f'--user-data-dir={os.path.join(tmpdir_path, "chromium")}', '--window-size=1280,900'):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def ppm_pixels(path):
    """(width, height, RGB bytes) of a binary PPM (what virsh screenshot writes for QEMU)."""
    data = open(path, 'rb').read()
    m = re.match(rb'P6\s+(\d+)\s+(\d+)\s+255\s', data)
    assert m, data[:20]
    return int(m.group(1)), int(m.group(2)), data[m.end():]


CANVAS_PIXELS = """
const canvas = document.querySelector('#noVNC_container canvas');
if (!canvas || canvas.width === 0) { return null; }
const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const rgb = new Uint8Array(rgba.length / 4 * 3);
for (let i = 0, j = 0; i < rgba.length; i += 4) { rgb[j++] = rgba[i]; rgb[j++] = rgba[i + 1]; rgb[j++] = rgba[i + 2]; }
let text = '';
for (let i = 0; i < rgb.length; i += 0x8000) { text += String.fromCharCode.apply(null, rgb.subarray(i, i + 0x8000)); }
return [canvas.width, canvas.height, btoa(text)];
"""


def canvas_pixels(driver):
    got = driver.execute_script(CANVAS_PIXELS)
    if not got:
        return None
    return got[0], got[1], base64.b64decode(got[2])


def differing_fraction(a, b):
    pixels = len(a) // 3
    differ = sum(1 for i in range(0, len(a), 3) if a[i:i + 3] != b[i:i + 3])
    return differ / pixels


def test_novnc_in_chromium_shows_the_guests_screen_with_the_password(daemon, tmpdir_path, guest_files,
                                                                    novnc_site, browser):
    uri = daemon.uri('qemu')
    serial = os.path.join(tmpdir_path, 'web.serial')
    xml = guest_xml('web', guest_files, serial,
                    extra_devices="<graphics type='vnc' autoport='yes' websocket='-1' passwd='s3cret'/>"
                                  "<video><model type='vga'/></video>")
    path = os.path.join(tmpdir_path, 'web.xml')
    with open(path, 'w') as f:
        f.write(xml)
    assert virsh(uri, 'define', path).rc == 0
    try:
        r = virsh(uri, 'start', 'web')
        assert r.rc == 0, r.err
        wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(serial), what='the guest to boot')
        live = virsh(uri, 'dumpxml', 'web').out
        ws = int(re.search(r"<graphics [^>]*?websocket='(\d+)'", live).group(1))
        assert ws >= 5700
        assert "websocket='-1'" in virsh(uri, 'dumpxml', '--inactive', 'web').out

        # A wrong password: noVNC says so and shows no screen.
        browser.get(f'{novnc_site}/vnc.html?host=127.0.0.1&port={ws}&path=&autoconnect=true&resize=off'
                    '&password=wrong')
        wait_for(lambda: 'Authentication failed' in browser.find_element('id', 'noVNC_status').get_attribute(
            'textContent'), timeout=60, what='noVNC to report the failed authentication')

        # The right one: the canvas shows what QEMU's screendump shows.
        browser.get(f'{novnc_site}/vnc.html?host=127.0.0.1&port={ws}&path=&autoconnect=true&resize=off'
                    '&password=s3cret')
        wait_for(lambda: 'noVNC_connected' in browser.find_element('tag name', 'html').get_attribute('class'),
                 timeout=60, what='noVNC to connect')
        shot = os.path.join(tmpdir_path, 'web.ppm')

        def same_screen():
            page = canvas_pixels(browser)
            if page is None or len(set(page[2][i:i + 3] for i in range(0, len(page[2]), 3 * 97))) < 2:
                return False  # nothing drawn yet
            assert virsh(uri, 'screenshot', 'web', shot).rc == 0
            width, height, qemu_rgb = ppm_pixels(shot)
            # The text cursor blinks: a few cells may differ between the two reads.
            return (page[0], page[1]) == (width, height) and differing_fraction(page[2], qemu_rgb) < 0.01

        wait_for(same_screen, timeout=60, what="the browser's canvas to show QEMU's screen")
        # And the screen is not blank: the firmware's text is on it.
        _, _, rgb = ppm_pixels(shot)
        assert len(set(rgb[i:i + 3] for i in range(0, len(rgb), 3))) >= 2
    finally:
        virsh(uri, 'destroy', 'web')
