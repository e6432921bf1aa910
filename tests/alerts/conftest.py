import pytest

from xinqiao.alerts import rules


@pytest.fixture(autouse=True)
def _fresh_rule_cache():
    rules.cache.clear()
    yield
    rules.cache.clear()
