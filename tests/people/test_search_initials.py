"""The character-by-character fast path of `name_initials` gives exactly pypinyin's answer."""

from __future__ import annotations

from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

from xinqiao.people.search import (
    _monophonic_initials,
    _pinyin_initials,
    name_initials,
)


def test_every_dictionary_phrase_of_one_reading_characters_agrees() -> None:
    checked = 0
    for phrase in phrases_dict:
        fast = _monophonic_initials(phrase)
        if fast is None:
            continue
        checked += 1
        assert fast == _pinyin_initials(phrase), phrase
    assert checked > 1000


def test_names_agree_with_pypinyin() -> None:
    names = [
        "张三明",
        "王子涵",
        "欧阳娜娜",
        "单雄信",
        "曾小贤",
        "李 雷",
        "Anna 李",
        "",
        "乐乐",
        "重庆",
    ]
    monophonic = [chr(c) for c, r in pinyin_dict.items() if "," not in r and 0x4E00 <= c < 0x4F00]
    names += ["".join(monophonic[i : i + 3]) for i in range(0, len(monophonic) - 3, 7)]
    for name in names:
        assert name_initials(name) == _pinyin_initials(name), name
    assert name_initials("张三明") == "zsm"
    assert _monophonic_initials("单雄信") is None  # 单: shàn/dān, pypinyin decides
