import pytest
import torch

from mi_estimators._checks import check_choice, check_scores


def test_check_choice_lists_valid_names_and_suggests_close_match():
    with pytest.raises(ValueError, match=r"unknown bound 'infonc'.*did you mean 'infonce'.*valid choices: infonce, nwj"):
        check_choice("bound", "infonc", ["nwj", "infonce"])
    assert check_choice("bound", "nwj", ["nwj"]) == "nwj"


@pytest.mark.parametrize(
    "scores, message",
    [
        (torch.zeros(3, 4), "square"),
        (torch.zeros(1, 1), "at least B = 2"),
        (torch.tensor([[0.0, float("nan")], [0.0, 0.0]]), r"NaN/inf.*index \(0, 1\)"),
        ([[0.0, 1.0], [1.0, 0.0]], "torch.Tensor"),
        (torch.zeros(2, 2, dtype=torch.int64), "floating-point"),
    ],
)
def test_check_scores_rejects_bad_score_matrices(scores, message):
    with pytest.raises(ValueError, match=message):
        check_scores(scores)


def test_check_scores_accepts_leading_ensemble_dimensions():
    s = torch.randn(4, 8, 8)
    assert check_scores(s) is s
