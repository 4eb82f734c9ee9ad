"""engine/knowledge/load/yamlsource.py and files.py: the one YAML reader and the one file reader, for
KB files and case files alike. Each hazard of issue 8, pinned where it is removed."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import yaml

from clonus.engine.errors import CaseError, KbError
from clonus.engine.intake.case import read_case_text
from clonus.engine.knowledge.load.files import MAX_FILE_BYTES, read_text
from clonus.engine.knowledge.load.yamlsource import ALIAS_BUDGET, MAX_DEPTH, load_yaml, parse_yaml

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
patient: {age: [*h,*h,*h,*h,*h,*h,*h,*h,*h]}
"""


def test_regression_billion_laughs_is_refused_by_the_alias_budget():
    """Bug: a 593-byte case file of nested aliases hung advise and once reached 6.2 GB (the error message
    printed the expanded value); the KB reader ran out of memory in 40-82 s on the same."""
    with pytest.raises(yaml.YAMLError, match=f"aliases expand this document by more than {ALIAS_BUDGET:,}"):
        load_yaml(BILLION_LAUGHS)
    with pytest.raises(CaseError) as info:
        read_case_text(BILLION_LAUGHS, "case.yaml")
    assert str(info.value).startswith("case.yaml:4:") and len(str(info.value)) < 300
    with pytest.raises(KbError) as kb_info:
        parse_yaml("rules:\n  - id: x.y\n    when: " + BILLION_LAUGHS.replace("\n", "\n      "), "rules/x.yaml")
    assert str(kb_info.value.problems[0]).startswith("rules/x.yaml:")


def test_aliases_within_the_budget_are_read():
    doc = load_yaml("base: &b {drug: baclofen}\none: *b\ntwo: *b\n")
    assert doc["one"] == doc["two"] == {"drug": "baclofen"}


def test_regression_an_alias_inside_itself_is_refused():
    with pytest.raises(yaml.YAMLError, match="refers to the collection that contains it"):
        load_yaml("a: &a [1, *a]\n")


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, "patient: " + "[" * 1000 + "]" * 1000,
                                  "".join(" " * i + "a:\n" for i in range(300)) + " " * 300 + "x"],
                         ids=["flow-1000", "under-a-key", "block-300"])
def test_regression_deep_nesting_is_one_located_line(text):
    """Bug: nesting of about 1,000 levels ended in RecursionError (a double traceback, exit 1)."""
    with pytest.raises(CaseError) as info:
        read_case_text(text, "case.yaml")
    message = str(info.value)
    assert message.startswith("case.yaml:1:") or message.startswith("case.yaml:")
    assert "nest" in message and "\n" not in message


def test_nesting_up_to_the_limit_is_read():
    assert load_yaml("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)) is not None


@pytest.mark.parametrize("text, what", [
    ("patient: {age: !!int abc}", "!!int 'abc' cannot be read as that type"),
    ("patient: {age: !!float abc}", "!!float 'abc' cannot be read as that type"),
    ("patient: {stroke: !!bool maybe}", "!!bool 'maybe' cannot be read as that type"),
    ("patient: {age: !!timestamp soon}", "!!timestamp 'soon' cannot be read as that type"),
    ("patient: !!map 45", "!!map '45' is a scalar, not a collection"),
    ("patient: !!set {a, b}", "!!set is not used in clonus files"),
    ("patient: !!python/object/apply:os.system [true]", "could not determine a constructor for the tag"),
], ids=["int", "float", "bool", "timestamp", "map-scalar", "set", "python"])
def test_regression_a_tag_that_cannot_be_read_is_one_located_line(text, what):
    """Bug: !!int abc, !!float abc, !!bool maybe, a garbage !!timestamp and !!map 45 crashed the reader
    (ValueError, KeyError, AttributeError: a traceback, exit 1)."""
    with pytest.raises(CaseError) as info:
        read_case_text(text, "case.yaml")
    assert str(info.value).startswith("case.yaml:1:") and what in str(info.value)


@pytest.mark.parametrize("text, value", [("45", Decimal(45)), ("17.9999", Decimal("17.9999")), ("-3", Decimal(-3)),
                                         (".5", Decimal(".5")), ("1:05", "1:05"), ("055", "055"), ("0x2d", "0x2d"),
                                         ("4_5", "4_5"), ("1.5e+3", "1.5e+3")])
def test_case_numbers_are_decimals_as_written_and_yaml_1_1_forms_are_text(text, value):
    assert load_yaml(f"v: {text}", exact=True)["v"] == value
    assert type(load_yaml(f"v: {text}", exact=True)["v"]) is type(value)


def test_kb_numbers_are_int_and_float():
    assert load_yaml("a: 45\nb: 0.5\nc: 055\n") == {"a": 45, "b": 0.5, "c": "055"}


def test_a_key_given_twice_is_refused_in_both_readers():
    with pytest.raises(yaml.YAMLError, match="duplicate key 'dose'"):
        load_yaml("dose: 15 mg\ndose: 20 mg\n")


def test_regression_a_fifo_is_refused_before_a_byte_is_read(tmp_path):
    """Bug: a FIFO given as a case file or as a KB rule file blocked for ever."""
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_text(fifo)
    link = tmp_path / "link.yaml"
    link.symlink_to(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_text(link)  # symlinks are resolved, then the file is judged


def test_regression_dev_zero_is_refused():
    """Bug: /dev/zero as a case file or KB file was read for ever."""
    with pytest.raises(OSError, match="not a regular file"):
        read_text("/dev/zero")


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        read_text(tmp_path)


def test_a_file_past_the_limit_is_refused_and_one_at_it_is_read(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * MAX_FILE_BYTES)
    assert len(read_text(big)) == MAX_FILE_BYTES
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(OSError, match="larger than 4 MB"):
        read_text(big)
