"""The contrastive-learning experiment on sklearn digits (examples/contrastive_digits.py).

``examples/`` is not a package: the example is loaded from its file. The quick mode (tiny
data, a few steps) runs end to end here; the full run's numbers live in
docs/experiments/contrastive-digits.md.
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from _scripts import load_script


def _load_example():
    return load_script("examples/contrastive_digits.py", register=True)  # dataclasses and pickle need its name


D = _load_example()


def _example_main():
    return D.main


def test_quick_mode_writes_a_report_with_every_loss_and_both_negative_modes(tmp_path):
    rows = _example_main()(["--quick", "--out", str(tmp_path)])

    # one row per (loss, negatives) plus the two baselines, for the single quick seed
    assert len(rows) == len(D.LOSSES) * len(D.NEGATIVES) + len(D.BASELINES)
    cells = {(r["method"], r["negatives"]) for r in rows}
    assert cells == {(m, n) for m in D.LOSSES for n in D.NEGATIVES} | {(b, "n/a") for b in D.BASELINES}
    for r in rows:
        assert 0.0 <= r["test_accuracy"] <= 1.0
        assert r["n_train"] == D.QUICK.n_train
        if r["method"] in D.LOSSES:
            assert math.isfinite(r["first_epoch_loss"]) and math.isfinite(r["final_loss"])
    # a few Adam steps lower the InfoNCE training loss (a broken gradient path would not)
    infonce = next(r for r in rows if (r["method"], r["negatives"]) == ("infonce", "standard"))
    assert infonce["final_loss"] < infonce["first_epoch_loss"]
    # label-aware negatives reach the loss: fewer negatives, a different training loss
    aware = next(r for r in rows if (r["method"], r["negatives"]) == ("infonce", "label-aware"))
    assert aware["final_loss"] != infonce["final_loss"]

    text = (tmp_path / "contrastive-digits.md").read_text()
    for label in D.LOSS_LABELS.values():
        assert f"| {label} |" in text
    assert "standard negatives | label-aware negatives" in text
    assert "examples/contrastive_digits.py --quick" in text  # the command that made it
    assert "raw pixels" in text and "random-init encoder" in text
    png = (tmp_path / "contrastive-digits.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_gives_the_same_result():
    job = {"method": "hcl", "negatives": "standard", "seed": 3}
    a, b = D.run_job(job, D.QUICK), D.run_job(job, D.QUICK)
    assert a["test_accuracy"] == b["test_accuracy"]
    assert a["final_loss"] == b["final_loss"]


def test_augment_with_zero_strength_is_the_identity():
    x, _, _, _ = D.load_digits_split(0, n_train=50)
    off = dataclasses.replace(D.DigitsConfig(), max_rotation_deg=0.0, zoom=(1.0, 1.0), max_shift_px=0.0,
                              noise_std=0.0, erase_prob=0.0)
    out = D.augment(x, torch.Generator().manual_seed(0), off)
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


def test_augment_is_seeded_and_changes_the_images():
    x, _, _, _ = D.load_digits_split(0, n_train=50)
    v1 = D.augment(x, torch.Generator().manual_seed(1))
    v2 = D.augment(x, torch.Generator().manual_seed(1))
    v3 = D.augment(x, torch.Generator().manual_seed(2))
    assert v1.shape == x.shape
    assert torch.equal(v1, v2)
    assert not torch.equal(v1, v3)
    # the default views are strong but keep most of the image: mean |view − image| well below
    # the mean pixel intensity, yet clearly above the added noise alone (std 0.05)
    gap = (v1 - x).abs().mean().item()
    assert 0.05 < gap < x.mean().item()


def test_raw_pixel_probe_recovers_the_known_digits_accuracy():
    # logistic regression on standardised digits pixels is a classic ~96-97 % result;
    # a wrong scaling, split or label order would fall far below it
    x_tr, y_tr, x_te, y_te = D.load_digits_split(0)
    assert (len(y_tr), len(y_te)) == (1257, 540)
    acc = D.linear_probe(x_tr.flatten(1).numpy(), y_tr, x_te.flatten(1).numpy(), y_te)
    assert acc > 0.94


def test_label_aware_negatives_set_the_debiasing_prior_to_zero():
    cfg = D.DigitsConfig()
    assert D.make_loss("dcl", cfg, "standard").tau_plus == cfg.tau_plus
    assert D.make_loss("dcl", cfg, "label-aware").tau_plus == 0.0
    assert D.make_loss("hcl", cfg, "label-aware").tau_plus == 0.0
    # f-MICL's kernel width gives the same temperature as the other losses: σ² = t
    assert D.make_loss("fmicl", cfg).kernel_width ** 2 == pytest.approx(cfg.temperature)


def test_paired_difference_and_verdict_report_noise_honestly():
    d, se, n = D.paired_difference({0: 0.90, 1: 0.80, 2: 0.70}, {0: 0.85, 1: 0.80, 2: 0.70})
    assert n == 3 and d == pytest.approx(0.05 / 3)
    assert se == pytest.approx(math.sqrt(((0.05 - d) ** 2 + 2 * d ** 2) / 2) / math.sqrt(3))
    cfg = dataclasses.replace(D.QUICK, seeds=(0, 1, 2), losses=("infonce", "dcl"), negatives=("standard",))
    rows = [{"method": m, "negatives": "standard", "seed": s, "test_accuracy": acc}
            for m, accs in (("infonce", (0.90, 0.80, 0.70)), ("dcl", (0.85, 0.80, 0.70)))
            for s, acc in enumerate(accs)]
    assert "within noise" in D.verdict(rows, cfg, "standard")


@pytest.mark.parametrize("argv, match", [
    (["--quick", "--losses", "infonc"], "did you mean 'infonce'"),
    (["--quick", "--negatives", "oracle"], "valid choices: label-aware, standard"),
    (["--quick", "--epochs", "0"], "epochs must be >= 1"),
])
def test_bad_arguments_raise_a_clear_value_error(argv, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        D.main([*argv, "--out", str(tmp_path)])


def test_resume_reuses_finished_rows_of_the_requested_seeds_only(tmp_path):
    rows_path = tmp_path / "rows.jsonl"
    cfg = dataclasses.replace(D.QUICK, seeds=(0, 1), losses=("infonce",), negatives=("standard",))
    first = D.run_experiment(cfg, rows_path, progress=lambda msg: None)
    assert len(first) == 2 * (1 + len(D.BASELINES))

    messages = []
    again = D.run_experiment(dataclasses.replace(cfg, seeds=(1,)), rows_path, progress=messages.append)
    assert messages == [f"resuming: {1 + len(D.BASELINES)} rows reused from {rows_path}"]  # nothing recomputed
    assert {r["seed"] for r in again} == {1}
    assert sorted(r["test_accuracy"] for r in again) == sorted(r["test_accuracy"] for r in first if r["seed"] == 1)

    # a changed setting is a different experiment: nothing is reused
    messages.clear()
    changed = dataclasses.replace(cfg, seeds=(1,), epochs=cfg.epochs + 1)
    D.run_experiment(changed, rows_path, progress=messages.append)
    assert not any(m.startswith("resuming") for m in messages)


def test_report_rewrite_keeps_hand_written_notes_below_the_marker(tmp_path):
    cfg = dataclasses.replace(D.QUICK, seeds=(0, 1), losses=("infonce",), negatives=("standard",))

    def rows(acc):
        return [{"method": m, "negatives": neg, "seed": s, "test_accuracy": acc, "n_train": 10, "n_test": 5,
                 "final_loss": None if m in D.BASELINES else 1.0, "wall_s": 1.0, "cpu_s": 1.0}
                for s in cfg.seeds for m, neg in (("infonce", "standard"), ("raw-pixels", "n/a"),
                                                   ("random-init", "n/a"))]

    path = tmp_path / "report.md"
    D.write_markdown(rows(0.5), cfg, path, command="cmd", wall_s=1.0, cpu_s=2.0, plot_name="p.png")
    path.write_text(path.read_text() + "\n## Discussion\nhand-written\n")
    D.write_markdown(rows(0.75), cfg, path, command="cmd", wall_s=1.0, cpu_s=2.0, plot_name="p.png")
    text = path.read_text()
    assert "| InfoNCE | 75.00 ± 0.00 |" in text and "50.00" not in text
    assert text.count(D.END_OF_GENERATED) == 1
    assert text.endswith("## Discussion\nhand-written\n")
