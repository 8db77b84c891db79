# SPDX-License-Identifier: LGPL-2.1-or-later
# Test framework for driving real corrald processes from pytest.
