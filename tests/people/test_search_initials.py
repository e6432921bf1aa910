"""The character-by-character fast path of `name_initials` gives exactly pypinyin's answer."""

from __future__ import annotations

import random

from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

from xinqiao.people.search import _monophonic_initials, _pinyin_initials, name_initials

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗单曾欧阳乐解仇朴查"
GIVEN = "子涵欣怡梓轩浩宇一诺雨桐思远俊杰佳琪宇航晨曦梦瑶长乐重行和朝都传"


def test_names_agree_with_pypinyin() -> None:
    rng = random.Random(14)
    han = [chr(c) for c in pinyin_dict if 0x4E00 <= c <= 0x9FFF]
    names = ["张三明", "单雄信", "曾小贤", "李 雷", "Anna 李", "", "乐乐", "重庆", "朱提", "火燵"]
    names += [a + b + c for a in SURNAMES for b in GIVEN for c in GIVEN[::3]]
    names += ["".join(rng.choice(han) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    fast = 0
    for name in names:
        assert name_initials(name) == _pinyin_initials(name), name
        fast += _monophonic_initials(name.strip()) is not None
    assert fast > len(names) // 2
    assert name_initials("张三明") == "zsm"


def test_a_dictionary_phrase_is_left_to_pypinyin() -> None:
    for phrase in list(phrases_dict)[::50]:
        assert _monophonic_initials(phrase) is None, phrase
