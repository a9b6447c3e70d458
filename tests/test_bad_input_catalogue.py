"""Every case of the bad-input catalogue (tests/_bad_inputs.py) ends as documented:
a ValueError/TypeError raised from this package whose message names the problem,
or a normal fit where the input is merely unusual."""

import pytest

from ._bad_inputs import as_documented, cases, outcome

CASES = cases()


@pytest.mark.parametrize("name, call, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_handled_as_documented(name, call, expect):
    result = outcome(call)
    assert as_documented(result, expect), f"{name}: got {result}, expected {expect}"
