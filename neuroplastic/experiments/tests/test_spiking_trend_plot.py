"""The spiking reproduction's trend figure is written from a trend list."""

import json

from neuroplastic.experiments.spiking_trend_plot import main, plot_trend


def _trend(epochs: int) -> list[dict]:
    split = {"accuracy": 0.9, "accuracy_no_pseudospikes": 0.8, "spikes_per_hidden_neuron": 0.4}
    return [{"epoch": e + 1, "train": {}, "val": split, "test": split} for e in range(epochs)]


def test_plot_trend_writes_a_png(tmp_path):
    out = tmp_path / "sub" / "trend.png"
    plot_trend(_trend(3), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_replots_a_stored_result(tmp_path):
    result = tmp_path / "r.json"
    result.write_text(json.dumps({"trend": _trend(2)}))
    main([str(result), str(tmp_path / "t.png")])
    assert (tmp_path / "t.png").stat().st_size > 1000
