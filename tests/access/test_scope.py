from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for


def names(qs):
    return sorted(s.name for s in qs)


def test_head_teacher_sees_only_own_class(world):
    p = principal_for(world.head_teacher)
    assert names(p.students()) == ["王小明"]
    assert p.tier_for(world.stu_a1) == Tier.T2
    assert p.tier_for(world.stu_a2) == Tier.NONE


def test_psychology_teacher_sees_own_school_at_t3(world):
    p = principal_for(world.psych)
    assert names(p.students(tier=Tier.T3)) == ["李小红", "王小明"]
    assert p.tier_for(world.stu_b1) == Tier.NONE


def test_district_admin_sees_district_roster_but_not_t2(world):
    p = principal_for(world.district_admin)
    assert names(p.students()) == ["李小红", "王小明"]
    assert names(p.students(tier=Tier.T2)) == []


def test_station_counsellor_covers_its_district(world):
    p = principal_for(world.station_counsellor)
    assert names(p.students(tier=Tier.T2)) == ["李小红", "王小明"]


def test_parent_sees_only_own_child(world):
    # Through their own capability (the family pages), never the staff students' one.
    p = principal_for(world.parent)
    assert names(p.students(cap=Cap.VIEW_OWN_CHILDREN)) == ["王小明"]
    assert names(p.students()) == []


def test_roles_without_student_access_see_nothing(world):
    for user in (world.committee, world.auditor, world.sysadmin):
        assert names(principal_for(user).students()) == []


def test_psychiatrist_sees_only_referred_students(world):
    # world.referral_a2 refers stu_a2 (李小红) to world.psychiatrist; nobody else is visible.
    assert names(principal_for(world.psychiatrist).students()) == ["李小红"]


def test_city_admin_sees_every_school(world):
    assert names(principal_for(world.city_admin).students()) == ["李小红", "王小明", "赵小刚"]


def test_capabilities_follow_the_role_table(world):
    assert principal_for(world.auditor).can(Cap.VIEW_AUDIT_LOG)
    assert not principal_for(world.psych).can(Cap.VIEW_AUDIT_LOG)
    assert not principal_for(world.sysadmin).can(Cap.VIEW_STUDENTS)
