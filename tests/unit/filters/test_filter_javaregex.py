"""Java regular expressions (Flink's REGEXP) translated to Python must find exactly where Java finds.

JAVA_FIND was recorded with java.util.regex on JDK 17 (Pattern.compile(p).matcher(s).find()).
"""

import pytest

from filters.javaregex import JavaRegexError, translate

JAVA_FIND = [
    ("^Test$", [("Test", True), ("Test\n", True), ("Test\r\n", True), ("Test\r", True), ("Test\x85", True),
                ("Test\u2028", True), ("Test\u2029", True), ("Test\n\n", False), ("Test\n\r", False), ("xTest", False),
                ("Tests", False)]),
    ("Test\\Z", [("Test\n", True), ("Test\r\n", True), ("Test\n\n", False)]),
    ("^Test\\z", [("Test", True), ("Test\n", False)]),
    ("a.b", [("a\nb", False), ("a\rb", False), ("a\x85b", False), ("a\u2028b", False), ("a\tb", True), ("aéb", True),
             ("a😀b", True)]),
    ("(?s)a.b", [("a\nb", True), ("a\u2028b", True)]),
    ("(?i)k", [("K", True), ("k", True), ("\u212a", False)]),
    ("(?i)é", [("É", False), ("é", True)]),
    ("(?i)[a-c]+x", [("BX", True), ("bx", True)]),
    ("\\w", [("é", False), ("_", True), ("1", True), ("Ä", False)]),
    ("\\d", [("١", False), ("5", True)]),
    ("\\s", [("\x0b", True), ("\xa0", False), ("\u2028", False), ("\t", True)]),
    ("[^a]", [("a", False), ("😀", True), ("\n", True)]),
    ("^[\\w-]+$", [("ab-1_", True), ("ab c", False)]),
    ("\\x41\\u00e9\\x{1F600}", [("Aé😀", True)]),
    ("\\0101\\cJ\\e", [("A\n\x1b", True)]),
    ("\\$|%", [("a$b", True), ("50%", True), ("x", False)]),
    ("(?<=a)b", [("ab", True), ("cb", False)]),
    ("a(?!b)", [("ab", False), ("ac", True)]),
    ("x{2,3}", [("x", False), ("xx", True)]),
    ("[😀-😂]", [("😁", True), ("😃", False)]),
    ("\\.\\*\\+", [(".*+", True), ("a*+", False)]),
    ("^$", [("", True), ("\n", True), ("a", False)]),
    # Java matches over UTF-16 units: where find() starts (between the halves of a pair or not) and what a
    # class accepts there depend on the pattern; recorded on JDK 17 like the rest
    ("(?<!^).", [("😀", True), ("a", False), ("ab", True)]),
    ("(?<!^)(?!$)", [("😀", True), ("a", False)]),
    ("(?!$)(?!\\x{1F600})", [("😀", False), ("😀😀", False)]),
    ("[^\\x{1F600}]", [("😀", False), ("😁", True)]),
    ("[^😀]", [("😀", False), ("a", True)]),
    ("^[\\x{D7FF}-\\x{E000}]", [("😀", False), ("\ue000", True)]),
    ("[\\x{D7FF}-\\x{E000}]", [("😀", False), ("a", False)]),
    (".\\x{1F600}", [("a😀", True), ("😀", False)]),
    ("^.$", [("😀", True), ("😀😀", False)]),
    ("^..$", [("😀", False), ("😀😀", True)]),
    ("(?<![a-z])x", [("😀x", True), ("ax", False)]),
    ("(?<=\\d)x", [("1x", True), ("😀x", False)]),
    ("[a\\-z]", [("-", True), ("b", False), ("z", True)]),
    ("^[\\-a]+$", [("-a-", True), ("b", False)]),
]


@pytest.mark.parametrize("pattern,cases", JAVA_FIND, ids=[p for p, _ in JAVA_FIND])
def test_translation_finds_what_java_finds(pattern, cases):
    translated = translate(pattern)
    for text, java_found in cases:
        assert translated.search(text) is java_found, (pattern, text)


REJECTED = {
    "\\bword": "\\b (word boundary)",
    "a\\B": "\\B",
    "\\p{L}": "\\p{...}",
    "\\Qa.b\\E": "\\Q...\\E",
    "(a)\\1": "back-references",
    "(?<name>a)": "named groups",
    "(?>a)": "atomic groups",
    "a*+": "possessive",
    "a++": "possessive",
    "a{2}+": "possessive",
    "(?m)^a": "inline flags (?m)",
    "a(?i)b": "inline flags and other",
    "(?i:a)": "inline flags and other",
    "[a[b]]": "nested classes",
    "[a-z&&[^e]]": "class intersection",
    "(?<=a+)b": "lookbehind must match a fixed number",
    "a{,3}": "'{' must start a repetition",
    "{2}": "nothing to repeat",
    "*a": "nothing to repeat",
    "a**": "cannot follow another quantifier",
    "^*": "needs something to repeat",
    "(ab": "unclosed group",
    "ab)": "unmatched ')'",
    "[ab": "unclosed character class",
    "[]a]": "a ']' first in a class",
    "[z-a]": "out of order",
    "[a-\\d]": "range cannot start or end at a class",
    "[a-c-e]": "literal '-'",
    "\\uD83D\\uDE00": "surrogates",
    "\\h": "\\h",
    "\\v": "\\v",
    "\\R": "\\R",
    "\\G": "\\G",
    "\\y": "unknown escape \\y",
    "a\\": "lone backslash",
    "": "empty",
    # Java measures lookbehinds in UTF-16 units: over characters above U+FFFF they mean something else
    "(?<=^.)x": "lookbehind cannot contain .",
    "(?<=..)$": "lookbehind cannot contain .",
    "(?<=\\x{1F600})x": "character above U+FFFF",
    "(?<=😀)x": "character above U+FFFF",
    "(?<![^a])x": "lookbehind cannot contain",
    "(?<=\\W)x": "lookbehind cannot contain",
    "(?<=a(?=.))x": "lookbehind cannot contain",
    "(?<=[\\x{D7FF}-\\x{E000}])x": "lookbehind cannot contain",
    "a\ud83d": "lone UTF-16 surrogate",
}


@pytest.mark.parametrize("pattern", sorted(REJECTED))
def test_constructs_with_different_meaning_are_rejected(pattern):
    with pytest.raises(JavaRegexError) as info:
        translate(pattern)
    assert REJECTED[pattern] in str(info.value)


def test_error_offsets_point_at_the_construct():
    with pytest.raises(JavaRegexError) as info:
        translate("abc\\bdef")
    assert info.value.offset == 3
    with pytest.raises(JavaRegexError) as info:
        translate("ab*+")
    assert info.value.offset == 3


def test_flags():
    assert translate("(?i)ab").ignore_case and not translate("ab").ignore_case
    assert translate("(?is)a.b").compile().search("A\nB")


def test_the_issue_lookbehinds_are_rejected_with_the_reason():
    with pytest.raises(JavaRegexError) as info:
        translate("x(?<=^.)")
    assert info.value.offset == 6  # the '.'
    assert "UTF-16 units" in str(info.value) and "(?<=^.)x does not find" in str(info.value)


def test_lookbehinds_over_characters_up_to_uffff_are_kept():
    assert translate("(?<=[a-z\\uFFFD])x").search("\uFFFDx")
    assert not translate("(?<=[a-z\\uFFFD])x").search("😀x")
    assert translate("(?<!\\w)x").search("😀x")


def test_find_skips_positions_inside_a_pair_exactly_when_java_does():
    # hasSupplementary in JDK 17's Pattern: a literal character above U+FFFF, a negated class, \\D \\W \\S,
    # a range under (?i), such a character standing alone; not '.', not one inside a longer literal run
    for pattern, skips in [("(?<!^).", False), ("a\\x{1F600}", False), ("\\x{1F600}", True), ("😀", True),
                           ("[^a]", True), ("\\W", True), ("\\w", False), ("(?i)[a-c]", True), ("[a-c]", False),
                           ("(?:x|\\x{1F600}+)", True), ("[\\x{1F600}]", True), ("[\\x{D7FF}-\\x{E000}]", True)]:
        assert translate(pattern).skips_inside_pairs is skips, pattern


def test_an_escaped_dash_is_a_literal_dash_anywhere_in_a_class():
    translated = translate("^[a\\-z]+$")
    assert translated.search("a-z-a") and not translated.search("b")
    with pytest.raises(JavaRegexError, match="literal '-'"):
        translate("[a-c-e]")
