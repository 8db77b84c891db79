#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fetches libvirt's own test data from Debian's libvirt source package into DEST (default
# build/libvirt-corpus): the XML inputs (qemuxml2argvdata, lxcxml2xmldata, networkxml2xmlin) for
# tests/unit/drivers/libvirt_corpus_test.cpp, and libvirt's expected outputs for them (the QEMU
# command lines and refusals in qemuxml2argvdata/*.args and *.err, the formatted definitions in
# qemuxml2xmloutdata and genericxml2xml{in,out}data) that tests/golden/README.md checks each
# golden file against. They are facts the tests and reviewers read; nothing of them enters
# the repository. Uses a private apt configuration built from the system's own Debian sources, so
# the machine's apt setup is not changed. Idempotent.
set -euo pipefail
dest=${1:-build/libvirt-corpus}
# A tree fetched before the expected outputs were extracted is fetched again.
[ -f "$dest/.complete" ] && [ -d "$dest/qemuxml2xmloutdata" ] && exit 0

system_sources=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$system_sources" ]; then
    echo "fetch-libvirt-corpus: $system_sources not found: cannot locate Debian's source packages" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
# The system's stanzas, as source stanzas.
sed 's/^Types: deb$/Types: deb-src/' "$system_sources" > "$work/src.sources"
apt_opts=(-o "Dir::Etc::sourcelist=$work/src.sources" -o "Dir::Etc::sourceparts=-"
          -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update
(cd "$work" && apt-get "${apt_opts[@]}" -qq --download-only source libvirt >/dev/null)
tarball=$(ls "$work"/libvirt_*.orig.tar.xz)
rm -rf "$dest"
mkdir -p "$dest"
tar -xJf "$tarball" -C "$dest" --strip-components=2 --wildcards \
    '*/tests/qemuxml2argvdata/*.xml' '*/tests/qemuxml2argvdata/*.args' '*/tests/qemuxml2argvdata/*.err' \
    '*/tests/qemuxml2xmloutdata/*.xml' '*/tests/genericxml2xmlindata/*.xml' '*/tests/genericxml2xmloutdata/*.xml' \
    '*/tests/lxcxml2xmldata/*.xml' '*/tests/networkxml2xmlin/*.xml'
basename "$tarball" > "$dest/.complete"
echo "fetch-libvirt-corpus: $(find "$dest" -name '*.xml' | wc -l) definitions and $(find "$dest" -name '*.args' | wc -l) command lines from $(cat "$dest/.complete") in $dest"
