"""The kill test's short form (`make chaos` runs the long one): the local host SIGKILLed at random moments,
then recovering on its own, loses no item, duplicates none, and leaves every row with an outcome; the
completeness report names exactly the gaps there are."""

from __future__ import annotations

import pytest

from local import chaos
from local.world import World

pytestmark = pytest.mark.integration


def test_killing_the_host_at_random_moments_loses_and_duplicates_nothing(fresh: World) -> None:
    figures = chaos.run(fresh, kills=6, seed=12, progress=False)

    summary = "\n".join(figures.lines())
    assert figures.kills == 6, summary
    assert figures.pairs > 0 and figures.missing_before > 0, "the kills must leave work to recover"
    assert (figures.lost, figures.duplicated, figures.without_outcome) == (0, 0, 0), summary
    assert figures.unexplained == 0, "the report named a gap that was not one, or missed one\n" + summary
    assert figures.gaps_after == 0, summary
