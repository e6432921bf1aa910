""" "Member" names three different things: a crisis team's 队员, an expert committee's 委员 and a
school group's 成员. One msgid gave all three 队员 (the expert committee and the school groups
showed "队员"); the committee and the groups now translate it in their own context."""

from __future__ import annotations

from django.utils import translation

from xinqiao.emergency.models import TeamRole
from xinqiao.people.models import GroupRole
from xinqiao.workforce.models import CommitteeRole


def test_each_kind_of_member_has_its_own_chinese_word():
    with translation.override("zh-hans"):
        assert str(TeamRole.MEMBER.label) == "队员"
        assert str(CommitteeRole.MEMBER.label) == "委员"
        assert str(GroupRole.MEMBER.label) == "成员"
    with translation.override("en"):
        assert {str(TeamRole.MEMBER.label), str(CommitteeRole.MEMBER.label)} == {"Member"}
        assert str(GroupRole.MEMBER.label) == "Member"
