"""formats.dump_yaml_split joins per-entry dumps into the whole document: the oracle is
PyYAML's own dump of the whole data (formats._dump_yaml), on hostile text: multi-line
strings (literal and quoted styles, empty lines, trailing newlines), long lines around the
emitter's width, keys YAML would quote or write as explicit keys, `!unsafe` text, empty and
nested mappings and lists."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.formats import Unsafe, _dump_yaml, dump_yaml_split
from compiler.incremental import Memo, memoizing

HOSTILE = st.sampled_from(["", " ", "null", "yes", "- x", "a: b", "#c", "x\n", "\n\nx", "a\n\n  b\n", "é\u2028z",
                           "'\"", "{[", "x" * 130, "y " * 2100, "z" * 4100, "tab\tch", "x\n\n", "|+", "...", "---"])
TEXT = st.one_of(HOSTILE, st.text(max_size=20), HOSTILE.map(Unsafe))
KEY = st.one_of(HOSTILE, st.text(min_size=1, max_size=12))
LEAF = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
VALUE = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(KEY, inner, max_size=3)), max_leaves=12)
DOC = st.dictionaries(KEY, st.dictionaries(KEY, st.dictionaries(KEY, VALUE, max_size=4), max_size=3), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOC, st.integers(min_value=0, max_value=4))
def test_split_dump_is_the_whole_dump(data, levels):
    whole = _dump_yaml(data, "header\n\nline")
    assert dump_yaml_split(data, "header\n\nline", levels) == whole          # no memo
    memo = Memo()
    with memoizing(memo):
        assert dump_yaml_split(data, "header\n\nline", levels) == whole      # stored
    with memoizing(Memo(memo.entries)):
        assert dump_yaml_split(data, "header\n\nline", levels) == whole      # reused


def test_an_inventory_shape_is_split_and_one_host_re_dumped():
    hosts = {f"h{i}": {"clawtex_role": "openclaw", "clawtex_display_name": Unsafe(f"Name {i}\nline"),
                       "ports": [{"port": 80 + i}]} for i in range(50)}
    data = {"all": {"vars": {"x": 1}, "children": {"openclaw": {"hosts": hosts}, "tier_gold": {"hosts": dict.fromkeys(hosts)}}}}
    memo = Memo()
    with memoizing(memo):
        first = dump_yaml_split(data, "h", 4)
    assert first == _dump_yaml(data, "h")
    hosts["h7"]["clawtex_display_name"] = Unsafe("Renamed")
    again = Memo(memo.entries)
    with memoizing(again):
        second = dump_yaml_split(data, "h", 4)
    assert second == _dump_yaml(data, "h")
    assert again.misses == 1, "only the renamed host's entry is dumped again"
