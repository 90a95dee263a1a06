"""``neuroplastic evaluate``: bad input fails in one line naming it, before any training."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--adversarial", "--eps", "0.1,1.5"], ["ε must be in [0, 1]", "1.5"]),
        (["--adversarial", "--eps", "-0.1"], ["ε must be in [0, 1]", "-0.1"]),
        (["--few-shot", "--shots", "0,5"], ["few-shot: shots", ">= 1", "[0, 5]"]),
        (["--few-shot", "--draws", "0"], ["few-shot: draws", "1"]),
        (["--methods", "nosuch"], ["unknown method 'nosuch'", "random-projection-localised"]),
        (["--methods", "all", "--set", "nosuch.lr=1"], ["'nosuch'"]),
    ],
)
def test_bad_input_fails_in_one_line(run_main, tmp_path, args, expected):
    code, _, stderr = run_main("evaluate", *args, "--quick", "--out", str(tmp_path / "out"))
    assert code == 2, stderr
    assert stderr.startswith("error:") and stderr.count("\n") == 1, stderr
    for text in expected:
        assert text in stderr
    assert not (tmp_path / "out").exists()  # nothing trained or written


@pytest.mark.mnist
def test_evaluate_quick_end_to_end_on_mnist(run_main, tmp_path):
    """The command itself (options → experiment → report): tiny, on the quick MNIST split."""
    out = tmp_path / "out"
    code, stdout, stderr = run_main(
        "evaluate", "--quick", "--hidden", "16", "--methods", "random-projection",
        "--set", "epochs=1", "--adversarial", "--samples", "20", "--eps", "0.1,0.3",
        "--few-shot", "--shots", "1,5", "--draws", "2", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert code == 0, stderr
    assert "worst-case robust accuracy" in stdout and "FEWER" in stdout
    assert (out / "evaluation.json").is_file() and (out / "robustness.png").is_file()
