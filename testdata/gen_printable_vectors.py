#!/usr/bin/env python3
"""Generates printable.json in this directory: the code points an address
may hold (PROTOCOL.md 2.1, "Printable"), from the Unicode Character Database
15.0.0 itself.

A code point is printable when its general category in Unicode 15.0.0 is L*,
M*, N*, P* or S*, or it is U+0020 SPACE; a code point UnicodeData.txt does
not list is unassigned (Cn) and not printable. The UCD is not kept here:
the generator reads UnicodeData.txt and DerivedAge.txt of version 15.0.0
(Debian's package unicode-data 15.0.0 installs them in /usr/share/unicode;
or pass the directory that holds them) and refuses any other version. It
compares with Python's own unicodedata (14.0.0 in Python 3.11) to list the
code points whose verdict a runtime with Unicode 14 tables gets wrong.

Run it with python3 from any directory; it rewrites printable.json.
"""

import json
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "15.0.0"
MAX = 0x10FFFF

# Code points assigned after 15.0.0 (unassigned, so refused, here), with the
# version that assigned them: a runtime with newer tables accepts them.
LATER = [
    (0x2EBF0, "15.1.0", "first of CJK Unified Ideographs Extension I"),
    (0x2EE5D, "15.1.0", "last of CJK Unified Ideographs Extension I"),
    (0x2FFC, "15.1.0", "IDEOGRAPHIC DESCRIPTION CHARACTER SURROUND FROM RIGHT"),
    (0x31EF, "15.1.0", "CJK STROKE HXG"),
    (0x1C89, "16.0.0", "CYRILLIC CAPITAL LETTER TJE"),
    (0x10D40, "16.0.0", "first of the Garay block"),
    (0x1CC00, "16.0.0", "first of Symbols for Legacy Computing Supplement"),
    (0x20C1, "17.0.0", "SAUDI RIYAL SIGN"),
]

# Code points of every kind, with why they are there.
SAMPLES = [
    (0x20, "SPACE: the one space allowed"),
    (0x41, "LATIN CAPITAL LETTER A"),
    (0x7E, "TILDE"),
    (0x00, "NULL (Cc)"),
    (0x0A, "LINE FEED (Cc)"),
    (0x7F, "DELETE (Cc)"),
    (0x85, "NEXT LINE (Cc)"),
    (0xA0, "NO-BREAK SPACE (Zs)"),
    (0xAD, "SOFT HYPHEN (Cf)"),
    (0x0378, "unassigned in Greek"),
    (0x0301, "COMBINING ACUTE ACCENT (Mn)"),
    (0x0600, "ARABIC NUMBER SIGN (Cf)"),
    (0x1680, "OGHAM SPACE MARK (Zs)"),
    (0x200B, "ZERO WIDTH SPACE (Cf)"),
    (0x200D, "ZERO WIDTH JOINER (Cf)"),
    (0x2028, "LINE SEPARATOR (Zl)"),
    (0x2029, "PARAGRAPH SEPARATOR (Zp)"),
    (0x202E, "RIGHT-TO-LEFT OVERRIDE (Cf)"),
    (0x3000, "IDEOGRAPHIC SPACE (Zs)"),
    (0x4E00, "first CJK ideograph (Lo)"),
    (0xD800, "a surrogate (Cs): never in valid UTF-8"),
    (0xDFFF, "a surrogate (Cs): never in valid UTF-8"),
    (0xE000, "private use (Co)"),
    (0xFDD0, "a noncharacter (Cn)"),
    (0xFEFF, "ZERO WIDTH NO-BREAK SPACE, the BOM (Cf)"),
    (0xFFFD, "REPLACEMENT CHARACTER (So)"),
    (0xFFFF, "a noncharacter (Cn)"),
    (0x1F600, "GRINNING FACE (So)"),
    (0x1F3FB, "EMOJI MODIFIER FITZPATRICK TYPE-1-2 (Sk)"),
    (0xE0001, "LANGUAGE TAG (Cf)"),
    (0xE0100, "VARIATION SELECTOR-17 (Mn)"),
    (0xF0000, "supplementary private use (Co)"),
    (0x10FFFF, "the last code point (Cn)"),
]


def read_ucd(directory):
    """The general category of every assigned code point, and the version
    that assigned it."""
    with open(os.path.join(directory, "DerivedAge.txt")) as f:
        head = f.readline().strip()
        if head != "# DerivedAge-%s.txt" % VERSION:
            raise SystemExit("%s: %r, want the UCD of Unicode %s" % (directory, head, VERSION))
        age = {}
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            cps, version = (s.strip() for s in line.split(";"))
            lo, _, hi = cps.partition("..")
            for cp in range(int(lo, 16), int(hi or lo, 16) + 1):
                age[cp] = version
    category = {}
    first = None
    with open(os.path.join(directory, "UnicodeData.txt")) as f:
        for line in f:
            fields = line.split(";")
            cp, name, cat = int(fields[0], 16), fields[1], fields[2]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    category[c] = cat
                first = None
                continue
            category[cp] = cat
    return category, age


def printable(cat, cp):
    return cp == 0x20 or cat[0] in "LMNPS"


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def vectors(directory):
    category, age = read_ucd(directory)
    cat = lambda cp: category.get(cp, "Cn")  # noqa: E731
    verdict = [printable(cat(cp), cp) for cp in range(MAX + 1)]
    old = [printable(unicodedata.category(chr(cp)), cp) for cp in range(MAX + 1)]
    differ = [cp for cp in range(MAX + 1) if verdict[cp] != old[cp]]

    def case(cp, note):
        entry = {"code_point": cp, "hex": "U+%04X" % cp, "category": cat(cp), "printable": verdict[cp], "note": note}
        if cp in age:
            entry["age"] = age[cp]
        return entry

    cases = [case(cp, note) for cp, note in SAMPLES]
    # Assigned in 15.0.0: printable here, refused by Unicode 14 tables.
    new = [cp for cp in differ if age.get(cp) == "15.0"]
    for cp in (new[0], new[len(new) // 2], new[-1], 0x0CF3, 0x1E4D0, 0x31350):
        assert cp in new, hex(cp)
        case_ = case(cp, "assigned in 15.0.0: printable here, refused by a runtime with Unicode 14 tables")
        if case_ not in cases:
            cases.append(case_)
    for cp, version, name in LATER:
        assert cat(cp) == "Cn", "U+%04X is assigned in %s" % (cp, VERSION)
        cases.append(dict(case(cp, "%s, assigned in %s: refused here, printable for a runtime with its tables" % (name, version)),
                          assigned_later=version))
    changed = [cp for cp in differ if age.get(cp) != "15.0"]
    return {
        "unicode_version": VERSION,
        "rule": "printable: general category L*, M*, N*, P* or S* in Unicode 15.0.0, or U+0020; "
                "ranges are inclusive [first, last] code points, in order",
        "printable_count": sum(verdict),
        "ranges": ranges(cp for cp in range(MAX + 1) if verdict[cp]),
        "differ_from_14": {
            "count": len(differ),
            "assigned_in_15": len(new),
            "other_changes": ["U+%04X %s→%s" % (cp, unicodedata.category(chr(cp)), cat(cp)) for cp in changed],
            "ranges": ranges(differ),
        },
        "cases": cases,
    }


if __name__ == "__main__":
    directory = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
    if unicodedata.unidata_version != "14.0.0":
        raise SystemExit("differ_from_14 needs Python's unicodedata 14.0.0 (Python 3.11), not " + unicodedata.unidata_version)
    with open(os.path.join(HERE, "printable.json"), "w") as f:
        json.dump(vectors(directory), f, separators=(",", ":"))
        f.write("\n")
