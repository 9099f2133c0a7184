"""Bounds on score matrices: registry contract, oracle critics vs closed forms, stability, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_estimators.bounds import BOUNDS, describe_bounds, get_bound, list_bounds

CONTRACT_NAMES = ["dv", "mine", "nwj", "tuba", "infonce", "dv-per-anchor", "js", "smile", "alpha",
                  "fgan", "fmicl", "dro-dual"]


def test_registry_lists_exactly_the_contract_names():
    assert list_bounds() == CONTRACT_NAMES
    assert list(BOUNDS) == CONTRACT_NAMES
    infos = describe_bounds()
    assert [i.name for i in infos] == CONTRACT_NAMES
    for info in infos:
        assert info.target == "kl"
        assert info.paper and info.description
        assert isinstance(info.lower_bound, bool)


def test_every_bound_maps_a_batch_of_score_matrices_to_one_value_each():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 2, 16, 16, generator=gen, dtype=torch.float64)
    for name in list_bounds():
        bound = get_bound(name)
        assert bound.estimate(scores).shape == (3, 2)
        assert bound.loss(scores).shape == (3, 2)
