"""The three properties the findings need (it reads, it does not know the domain, it knows general
facts), measured by greedy decoding on real trained models.

- The committed default build (models/default-<hash>, reproduced by `rightfit base build`)
  is checked on the tiny English suite (its probes are a subset of the default general
  world): it reads, it does not know the domain, it knows general facts.
- The tiny build (what tests can afford to train, under a minute) is checked for the same
  three properties on the same suite.
Bars sit about two standard errors (72 questions: ~5.5 points; 32 probes: ~8 points) below
the values measured when the models were built, so they fail on a real regression only.
"""

from __future__ import annotations

import pytest

from harness.basemodels.build import ensure_base_models, prebuilt_dir
from harness.basemodels.properties import measure_properties

pytestmark = [pytest.mark.slow, pytest.mark.numerics]


def test_committed_default_teacher_reads_and_knows_general_facts():
    import torch
    torch.set_num_threads(1)
    path = prebuilt_dir("default")
    assert (path / "build.json").exists(), (
        f"{path} is missing: the default recipe changed; run `rightfit base build --size default` "
        f"and commit .rightfit/models/<that folder> as models/<that folder>")
    res = measure_properties(path / "teacher", "shopco-en-tiny")
    assert res["with_doc"] >= WITH_DOC_BAR, res
    assert res["no_doc"] <= 0.15, res
    assert res["probes"] >= PROBES_BAR, res


def test_tiny_teacher_reads_and_knows_general_facts_not_the_domain():
    import torch
    torch.set_num_threads(1)
    res = measure_properties(ensure_base_models("tiny")["teacher"], "shopco-en-tiny")
    assert res["with_doc"] >= 0.65, res   # measured 0.806 (72 questions)
    assert res["no_doc"] <= 0.15, res     # measured 0.042
    assert res["probes"] >= 0.85, res     # measured 1.0 (32 probes)


WITH_DOC_BAR = 0.85  # measured 0.944 (72 questions; shopco-en: 0.971 of 240)
PROBES_BAR = 0.85   # measured 1.0 (32 probes; shopco-en: 1.0 of 100)
