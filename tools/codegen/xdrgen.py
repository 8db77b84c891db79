#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# xdrgen: turns Corral's XDR protocol descriptions (src/rpc/proto/*.x) into C++ structs, XDR
# encoders/decoders, per-procedure traits and the procedure table the daemon dispatches from.
#
# The input language is the subset of RFC 4506 that libvirt's protocols use (const, enum, struct,
# union switch, typedef, fixed/variable arrays, optional pointers) plus one extension: an enum
# whose name ends in "_procedure" lists procedures, each entry optionally followed by a comment
# with annotations: `ro` (allowed on read-only connections), `prio` (high-priority worker pool),
# `rodeny=0xN` (flag bits that make a read-only call forbidden).
import argparse
import re
import sys

PRIMS = {
    'int': ('std::int32_t', 'Int32'),
    'unsigned int': ('std::uint32_t', 'Uint32'),
    'unsigned': ('std::uint32_t', 'Uint32'),
    'hyper': ('std::int64_t', 'Int64'),
    'unsigned hyper': ('std::uint64_t', 'Uint64'),
    'double': ('double', 'Double'),
    'bool': ('std::int32_t', 'Int32'),
    # rpcgen sends these as full 4-byte words (xdr_char, xdr_u_char, xdr_short, xdr_u_short).
    'char': ('char', 'Char'),
    'unsigned char': ('std::uint8_t', 'Uchar'),
    'short': ('std::int16_t', 'Short'),
    'unsigned short': ('std::uint16_t', 'Ushort'),
}


class XdrError(Exception):
    pass


def strip_comments(text):
    """Removes comments but keeps procedure annotations as @@ANN(...)@@ tokens."""
    def repl(m):
        body = m.group(0)[2:-2].strip()
        if re.fullmatch(r'(ro|prio|rodeny=0x[0-9a-fA-F]+)(\s+(ro|prio|rodeny=0x[0-9a-fA-F]+))*', body):
            return ' @@ANN(' + body + ')@@ '
        return ' '
    text = re.sub(r'/\*.*?\*/', repl, text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'^%[^\n]*', ' ', text, flags=re.M)
    return text


TOKEN_RE = re.compile(r'@@ANN\([^)]*\)@@|[A-Za-z_][A-Za-z0-9_]*|0x[0-9A-Fa-f]+|-?[0-9]+|[{}()<>\[\];:,=*]')


class Parser:
    def __init__(self, text, path):
        self.toks = TOKEN_RE.findall(strip_comments(text))
        self.i = 0
        self.path = path
        self.consts = {}     # name -> int
        self.order = []      # ('const'|'enum'|'struct'|'union'|'typedef', name, data)
        self.procedures = []  # (enumname, name, number, annotations)

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, expected=None):
        t = self.peek()
        if t is None:
            raise XdrError(f'{self.path}: unexpected end of input')
        if expected is not None and t != expected:
            raise XdrError(f'{self.path}: expected {expected!r}, got {t!r} near token {self.i}')
        self.i += 1
        return t

    def value(self, tok):
        if re.fullmatch(r'-?[0-9]+', tok):
            return int(tok)
        if tok.startswith('0x'):
            return int(tok, 16)
        if tok in self.consts:
            return self.consts[tok]
        raise XdrError(f'{self.path}: unknown constant {tok!r}')

    def parse(self):
        while self.peek() is not None:
            t = self.take()
            if t == 'const':
                name = self.take()
                self.take('=')
                v = self.value(self.take())
                self.take(';')
                self.consts[name] = v
                self.order.append(('const', name, v))
            elif t == 'enum':
                self.parse_enum()
            elif t == 'struct':
                name = self.take()
                fields = self.parse_fields()
                self.take(';')
                self.order.append(('struct', name, fields))
            elif t == 'union':
                self.parse_union()
            elif t == 'typedef':
                decl = self.parse_decl()
                self.take(';')
                self.order.append(('typedef', decl['name'], decl))
            else:
                raise XdrError(f'{self.path}: unexpected {t!r}')

    def parse_enum(self):
        name = self.take()
        self.take('{')
        entries = []
        while self.peek() != '}':
            ename = self.take()
            self.take('=')
            v = self.value(self.take())
            ann = ''
            if self.peek() == ',':
                self.take(',')
            if self.peek() and self.peek().startswith('@@ANN('):
                ann = self.take()[6:-3]
            self.consts[ename] = v
            entries.append((ename, v, ann))
        self.take('}')
        self.take(';')
        self.order.append(('enum', name, entries))
        if name.endswith('_procedure'):
            for ename, v, ann in entries:
                self.procedures.append((name, ename, v, ann.split()))

    def parse_type(self):
        t = self.take()
        if t == 'unsigned':
            if self.peek() in ('int', 'hyper', 'char', 'short'):
                return 'unsigned ' + self.take()
            return 'unsigned int'
        if t == 'struct':  # "struct foo" as a type reference
            return self.take()
        return t

    def parse_decl(self):
        typ = self.parse_type()
        if typ == 'void':
            return {'type': 'void', 'name': None, 'kind': 'void'}
        kind = 'plain'
        if self.peek() == '*':
            self.take('*')
            kind = 'optional'
        name = self.take()
        bound = None
        if self.peek() == '<':
            self.take('<')
            bound = None if self.peek() == '>' else self.value(self.take())
            self.take('>')
            kind = 'var'
        elif self.peek() == '[':
            self.take('[')
            bound = self.value(self.take())
            self.take(']')
            kind = 'fixed'
        return {'type': typ, 'name': name, 'kind': kind, 'bound': bound}

    def parse_fields(self):
        self.take('{')
        fields = []
        while self.peek() != '}':
            fields.append(self.parse_decl())
            self.take(';')
        self.take('}')
        return fields

    def parse_union(self):
        name = self.take()
        self.take('switch')
        self.take('(')
        dtype = self.parse_type()
        dname = self.take()
        self.take(')')
        self.take('{')
        arms = []
        while self.peek() != '}':
            if self.peek() == 'default':
                self.take()
                self.take(':')
                labels = ['default']
            else:
                labels = []
                while self.peek() == 'case':
                    self.take('case')
                    labels.append(self.value(self.take()))
                    self.take(':')
            decl = self.parse_decl()
            self.take(';')
            arms.append((labels, decl))
        self.take('}')
        self.take(';')
        self.order.append(('union', name, {'dtype': dtype, 'dname': dname, 'arms': arms}))


class Generator:
    def __init__(self, parsers, ns='corral::rpc::proto'):
        self.ns = ns
        self.typedefs = {}
        self.structs = set()
        self.enums = set()
        self.unions = set()
        self.consts = {}
        for p in parsers:
            self.consts.update(p.consts)
            for kind, name, data in p.order:
                if kind == 'typedef':
                    self.typedefs[name] = data
                elif kind == 'struct':
                    self.structs.add(name)
                elif kind == 'enum':
                    self.enums.add(name)
                elif kind == 'union':
                    self.unions.add(name)

    # A resolved type: dict(kind=prim|string|opaque|chararray|array|optional|named|enum, ...)
    def resolve(self, decl):
        typ, kind, bound = decl['type'], decl['kind'], decl.get('bound')
        if typ == 'string':
            if kind != 'var':
                raise XdrError(f'string {decl["name"]} must be variable-length')
            return {'k': 'string', 'max': bound}
        if typ == 'opaque':
            if kind == 'fixed':
                return {'k': 'opaque_fixed', 'n': bound}
            if kind == 'var':
                return {'k': 'opaque_var', 'max': bound}
            raise XdrError(f'opaque {decl["name"]} needs a size')
        if typ == 'char' and kind in ('fixed', 'var'):
            return {'k': 'char_fixed', 'n': bound} if kind == 'fixed' else {'k': 'char_var', 'max': bound}
        elem = self.resolve_name(typ)
        if kind == 'plain':
            return elem
        if kind == 'optional':
            return {'k': 'optional', 'elem': elem}
        if kind == 'fixed':
            return {'k': 'array_fixed', 'elem': elem, 'n': bound}
        if kind == 'var':
            return {'k': 'array_var', 'elem': elem, 'max': bound}
        raise XdrError(f'bad declaration {decl}')

    def resolve_name(self, typ):
        if typ in PRIMS:
            return {'k': 'prim', 'prim': typ}
        if typ in self.typedefs:
            return self.resolve(self.typedefs[typ])
        if typ in self.enums:
            return {'k': 'enum', 'name': typ}
        if typ in self.structs or typ in self.unions:
            return {'k': 'named', 'name': typ}
        raise XdrError(f'unknown type {typ!r}')

    def cpp(self, r):
        k = r['k']
        if k == 'prim':
            return PRIMS[r['prim']][0]
        if k == 'string':
            return 'std::string'
        if k == 'opaque_fixed':
            return f'std::array<std::uint8_t, {r["n"]}>'
        if k == 'opaque_var':
            return 'std::vector<std::uint8_t>'
        if k == 'char_fixed':
            return f'std::array<char, {r["n"]}>'
        if k == 'char_var':
            return 'std::vector<char>'
        if k == 'optional':
            return f'std::optional<{self.cpp(r["elem"])}>'
        if k == 'array_fixed':
            return f'std::array<{self.cpp(r["elem"])}, {r["n"]}>'
        if k == 'array_var':
            return f'std::vector<{self.cpp(r["elem"])}>'
        return r['name']

    @staticmethod
    def maxexpr(m):
        return 'kNoBound' if m is None else str(m)

    def enc(self, r, e, ind):
        k = r['k']
        p = ' ' * ind
        if k == 'prim':
            return [f'{p}enc.put{PRIMS[r["prim"]][1]}({e});']
        if k == 'enum':
            return [f'{p}enc.putInt32(static_cast<std::int32_t>({e}));']
        if k == 'string':
            return [f'{p}enc.putString({e});']
        if k == 'opaque_fixed':
            return [f'{p}enc.putFixedOpaque({e}.data(), {e}.size());']
        if k == 'opaque_var':
            return [f'{p}enc.putVarOpaque({e});']
        if k == 'char_fixed':
            return [f'{p}for (char c : {e}) {{ enc.putChar(c); }}']
        if k == 'char_var':
            return [f'{p}enc.putUint32(static_cast<std::uint32_t>({e}.size()));',
                    f'{p}for (char c : {e}) {{ enc.putChar(c); }}']
        if k == 'optional':
            return ([f'{p}enc.putUint32({e} ? 1u : 0u);', f'{p}if ({e}) {{'] +
                    self.enc(r['elem'], f'(*{e})', ind + 4) + [f'{p}}}'])
        if k in ('array_fixed', 'array_var'):
            v = f'x{ind}'
            out = []
            if k == 'array_var':
                out.append(f'{p}enc.putUint32(static_cast<std::uint32_t>({e}.size()));')
            out.append(f'{p}for (const auto& {v} : {e}) {{')
            out += self.enc(r['elem'], v, ind + 4)
            out.append(f'{p}}}')
            return out
        return [f'{p}encode(enc, {e});']

    def dec(self, r, e, ind):
        k = r['k']
        p = ' ' * ind
        if k == 'prim':
            return [f'{p}if (!dec.get{PRIMS[r["prim"]][1]}({e})) {{ return false; }}']
        if k == 'enum':
            return [f'{p}{{ std::int32_t raw = 0; if (!dec.getInt32(raw)) {{ return false; }} {e} = static_cast<{r["name"]}>(raw); }}']
        if k == 'string':
            return [f'{p}if (!dec.getString({e}, {self.maxexpr(r["max"])})) {{ return false; }}']
        if k == 'opaque_fixed':
            return [f'{p}if (!dec.getFixedOpaque({e}.data(), {e}.size())) {{ return false; }}']
        if k == 'opaque_var':
            return [f'{p}if (!dec.getVarOpaque({e}, {self.maxexpr(r["max"])})) {{ return false; }}']
        if k == 'char_fixed':
            return [f'{p}for (char& c : {e}) {{ if (!dec.getChar(c)) {{ return false; }} }}']
        if k == 'char_var':
            return [f'{p}{{',
                    f'{p}    std::uint32_t n = 0;',
                    f'{p}    if (!dec.getCount(n, {self.maxexpr(r["max"])}, 4)) {{ return false; }}',
                    f'{p}    {e}.resize(n);',
                    f'{p}    for (char& c : {e}) {{ if (!dec.getChar(c)) {{ return false; }} }}',
                    f'{p}}}']
        if k == 'optional':
            return ([f'{p}{{',
                     f'{p}    std::uint32_t present = 0;',
                     f'{p}    if (!dec.getUint32(present) || present > 1) {{ return dec.fail(); }}',
                     f'{p}    if (present == 0) {{ {e}.reset(); }} else {{',
                     f'{p}        {e}.emplace();'] +
                    self.dec(r['elem'], f'(*{e})', ind + 8) + [f'{p}    }}', f'{p}}}'])
        if k == 'array_fixed':
            v = f'x{ind}'
            return [f'{p}for (auto& {v} : {e}) {{'] + self.dec(r['elem'], v, ind + 4) + [f'{p}}}']
        if k == 'array_var':
            v = f'x{ind}'
            return ([f'{p}{{',
                     f'{p}    std::uint32_t n = 0;',
                     f'{p}    if (!dec.getCount(n, {self.maxexpr(r["max"])}, 4)) {{ return false; }}',
                     f'{p}    {e}.resize(n);',
                     f'{p}    for (auto& {v} : {e}) {{'] +
                    self.dec(r['elem'], v, ind + 8) + [f'{p}    }}', f'{p}}}'])
        return [f'{p}if (!decode(dec, {e})) {{ return false; }}']


def emit(parser, gen, base, includes):
    guard_ns = gen.ns
    hpp = []
    cpp = []
    hpp.append('// Generated by tools/codegen/xdrgen.py from ' + parser.path + ': do not edit.')
    hpp.append('#pragma once\n')
    hpp.append('#include <array>\n#include <cstdint>\n#include <optional>\n#include <span>\n'
               '#include <string>\n#include <string_view>\n#include <vector>\n')
    hpp.append('#include "rpc/xdr.hpp"')
    for inc in includes:
        hpp.append(f'#include "rpc/generated/{inc}_protocol.hpp"')
    hpp.append(f'\nnamespace {guard_ns} {{\n')
    cpp.append('// Generated by tools/codegen/xdrgen.py from ' + parser.path + ': do not edit.')
    cpp.append(f'#include "rpc/generated/{base}_protocol.hpp"\n')
    cpp.append(f'namespace {guard_ns} {{\n')

    for kind, name, data in parser.order:
        if kind == 'const':
            if data < 0:
                hpp.append(f'inline constexpr std::int32_t {name} = {data};')
            else:
                hpp.append(f'inline constexpr std::uint32_t {name} = {data}u;')
        elif kind == 'enum':
            hpp.append(f'enum {name} : std::int32_t {{')
            for ename, v, _ in data:
                hpp.append(f'    {ename} = {v},')
            hpp.append('};')
        elif kind == 'typedef':
            hpp.append(f'using {name} = {gen.cpp(gen.resolve(data))};')
        elif kind == 'struct':
            hpp.append(f'struct {name} {{')
            for f in data:
                r = gen.resolve(f)
                init = '{}' if r['k'] in ('prim', 'enum') else ''
                hpp.append(f'    {gen.cpp(r)} {f["name"]}{init};')
            hpp.append('};')
            hpp.append(f'void encode(XdrEncoder& enc, const {name}& v);')
            hpp.append(f'bool decode(XdrDecoder& dec, {name}& v);')
            cpp.append(f'void encode(XdrEncoder& enc, const {name}& v) {{')
            if not data:
                cpp.append('    (void)enc;\n    (void)v;')
            for f in data:
                cpp += gen.enc(gen.resolve(f), f'v.{f["name"]}', 4)
            cpp.append('}\n')
            cpp.append(f'bool decode(XdrDecoder& dec, {name}& v) {{')
            if not data:
                cpp.append('    (void)v;')
            for f in data:
                cpp += gen.dec(gen.resolve(f), f'v.{f["name"]}', 4)
            cpp.append('    return dec.ok();\n}\n')
        elif kind == 'union':
            dr = gen.resolve_name(data['dtype'])
            hpp.append(f'struct {name} {{')
            hpp.append(f'    {gen.cpp(dr)} {data["dname"]}{{}};')
            for labels, decl in data['arms']:
                if decl['kind'] != 'void':
                    r = gen.resolve(decl)
                    init = '{}' if r['k'] in ('prim', 'enum') else ''
                    hpp.append(f'    {gen.cpp(r)} {decl["name"]}{init};')
            hpp.append('};')
            hpp.append(f'void encode(XdrEncoder& enc, const {name}& v);')
            hpp.append(f'bool decode(XdrDecoder& dec, {name}& v);')
            d = data['dname']
            for which in ('enc', 'dec'):
                if which == 'enc':
                    cpp.append(f'void encode(XdrEncoder& enc, const {name}& v) {{')
                    cpp += gen.enc(dr, f'v.{d}', 4)
                else:
                    cpp.append(f'bool decode(XdrDecoder& dec, {name}& v) {{')
                    cpp += gen.dec(dr, f'v.{d}', 4)
                cpp.append(f'    switch (static_cast<std::int64_t>(v.{d})) {{')
                has_default = False
                for labels, decl in data['arms']:
                    for lab in labels:
                        if lab == 'default':
                            has_default = True
                            cpp.append('        default:')
                        else:
                            cpp.append(f'        case {lab}:')
                    if decl['kind'] != 'void':
                        r = gen.resolve(decl)
                        body = gen.enc(r, f'v.{decl["name"]}', 12) if which == 'enc' else gen.dec(r, f'v.{decl["name"]}', 12)
                        cpp += body
                    cpp.append('            break;')
                if not has_default:
                    cpp.append('        default:')
                    cpp.append('            break;' if which == 'enc' else '            return dec.fail();')
                cpp.append('    }')
                cpp.append('}\n' if which == 'enc' else '    return dec.ok();\n}\n')

    # Procedure traits and table.
    procs = parser.procedures
    if procs:
        prefix_map = {}
        for enum_name, pname, num, ann in procs:
            prog = enum_name[:-len('_procedure')]  # e.g. remote, lxc, qemu, keepalive
            prefix = prog.upper() + '_PROC_'
            short = pname[len(prefix):] if pname.startswith(prefix) else pname
            prefix_map.setdefault(prog, []).append((pname, short, num, ann))
        structs = gen.structs | gen.unions
        for prog, entries in prefix_map.items():
            trait = prog.capitalize() + 'Proc'
            hpp.append(f'\ntemplate <std::int32_t P>\nstruct {trait};')
            for pname, short, num, ann in entries:
                low = prog + '_' + short.lower()
                args = next((s for s in (low + '_args', low + '_msg') if s in structs), None)
                ret = low + '_ret' if (low + '_ret') in structs else None
                hpp.append(f'template <>\nstruct {trait}<{pname}> {{')
                hpp.append(f'    using Args = {args or "xdr_void"};')
                hpp.append(f'    using Ret = {ret or "xdr_void"};')
                hpp.append(f'    static constexpr std::string_view name = "{short}";')
                hpp.append('};')
            fn = 'find' + prog.capitalize() + 'Procedure'
            hpp.append(f'const ProcedureInfo* {fn}(std::int32_t number);')
            cpp.append(f'namespace {{\nconst ProcedureInfo k{prog.capitalize()}Procedures[] = {{')
            for pname, short, num, ann in sorted(entries, key=lambda e: e[2]):
                low = prog + '_' + short.lower()
                has = any(s in structs for s in (low + '_args', low + '_ret', low + '_msg'))
                rodeny = next((a.split('=')[1] for a in ann if a.startswith('rodeny=')), '0')
                cpp.append(f'    {{{num}, "{short}", {"true" if "ro" in ann else "false"}, {rodeny}u, '
                           f'{"true" if "prio" in ann else "false"}, {"true" if has else "false"}}},')
            cpp.append('};\n}  // namespace\n')
            cpp.append(f'const ProcedureInfo* {fn}(std::int32_t number) {{')
            cpp.append(f'    return lookupProcedure(k{prog.capitalize()}Procedures, number);\n}}\n')

    hpp.append(f'\n}}  // namespace {guard_ns}')
    cpp.append(f'}}  // namespace {guard_ns}')
    return '\n'.join(hpp) + '\n', '\n'.join(cpp) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--out', required=True, help='output directory')
    ap.add_argument('--include', action='append', default=[],
                    help='another .x whose types this one uses (name=path)')
    ap.add_argument('input')
    ap.add_argument('base', help='output base name, e.g. remote -> remote_protocol.hpp')
    args = ap.parse_args()
    parsers = []
    includes = []
    for inc in args.include:
        name, path = inc.split('=', 1)
        p = Parser(open(path).read(), path)
        p.parse()
        parsers.append(p)
        includes.append(name)
    main_parser = Parser(open(args.input).read(), args.input)
    main_parser.parse()
    gen = Generator(parsers + [main_parser])
    hpp, cpp = emit(main_parser, gen, args.base, includes)
    with open(f'{args.out}/{args.base}_protocol.hpp', 'w') as f:
        f.write(hpp)
    with open(f'{args.out}/{args.base}_protocol.cpp', 'w') as f:
        f.write(cpp)


if __name__ == '__main__':
    try:
        main()
    except XdrError as e:
        print(f'xdrgen: error: {e}', file=sys.stderr)
        sys.exit(1)
