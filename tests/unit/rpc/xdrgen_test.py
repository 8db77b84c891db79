# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests of tools/codegen/xdrgen.py: parsing, annotations, type mapping, error reporting.
import os
import sys
import tempfile
import unittest

sys.path.insert(0, sys.argv.pop(1))
import xdrgen  # noqa: E402

SAMPLE = """
const MAX = 4;
typedef string name_t<MAX>;
typedef name_t *opt_name;
struct thing { name_t name; opt_name alias; opaque id[16]; char model[2]; int list<MAX>; unsigned hyper big; };
union val switch (int type) { case 1: int i; case 2: name_t s; };
struct sample_do_it_args { thing t; val v; };
struct sample_do_it_ret { int ok; };
enum sample_procedure {
    SAMPLE_PROC_DO_IT = 1,  /* ro prio */
    SAMPLE_PROC_OTHER = 2,  /* rodeny=0x4 ro */
    SAMPLE_PROC_LAST = 3
};
"""


class XdrgenTest(unittest.TestCase):
    def generate(self, text):
        p = xdrgen.Parser(text, 'sample.x')
        p.parse()
        return p, xdrgen.emit(p, xdrgen.Generator([p]), 'sample', [])

    def test_types_map_to_cpp(self):
        _, (hpp, _) = self.generate(SAMPLE)
        self.assertIn('using name_t = std::string;', hpp)
        self.assertIn('using opt_name = std::optional<std::string>;', hpp)
        self.assertIn('std::array<std::uint8_t, 16> id;', hpp)
        self.assertIn('std::array<char, 2> model;', hpp)
        self.assertIn('std::vector<std::int32_t> list;', hpp)
        self.assertIn('std::uint64_t big{};', hpp)

    def test_bounds_are_enforced_in_decoders(self):
        _, (_, cpp) = self.generate(SAMPLE)
        self.assertIn('dec.getString(v.name, 4)', cpp)
        self.assertIn('dec.getCount(n, 4, 4)', cpp)

    def test_procedures_and_annotations(self):
        p, (hpp, cpp) = self.generate(SAMPLE)
        self.assertEqual([x[1] for x in p.procedures], ['SAMPLE_PROC_DO_IT', 'SAMPLE_PROC_OTHER', 'SAMPLE_PROC_LAST'])
        self.assertIn('using Args = sample_do_it_args;', hpp)
        self.assertIn('using Ret = sample_do_it_ret;', hpp)
        self.assertIn('{1, "DO_IT", true, 0u, true, true}', cpp)
        self.assertIn('{2, "OTHER", true, 0x4u, false, false}', cpp)
        self.assertIn('{3, "LAST", false, 0u, false, false}', cpp)

    def test_unknown_type_is_an_error(self):
        with self.assertRaises(xdrgen.XdrError):
            self.generate('struct a { nosuch x; };')

    def test_unknown_constant_is_an_error(self):
        with self.assertRaises(xdrgen.XdrError):
            self.generate('struct a { int x<NOPE>; };')


if __name__ == '__main__':
    unittest.main()
