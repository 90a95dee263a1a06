import torch

from neuroplastic.energy.synops import measure_synops
from neuroplastic.models import MLP


def test_synops_hand_computed():
    model = MLP([3, 2, 1], ledger=None, generator=torch.Generator().manual_seed(0))
    w1 = model.layers[0].weight
    w1.w.data = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    model.layers[0].bias.w.data = torch.tensor([0.0, 1.0])
    model.layers[1].weight.w.data = torch.tensor([[1.0, 1.0]])
    model.layers[1].bias.w.data = torch.tensor([0.5])
    x = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    ops = measure_synops(model, x)
    # dense: layer1 3*2+2, layer2 2*1+1 = 11 per sample
    assert ops.dense == 11
    # sample 1: x nonzero at inputs 0,1 -> w nonzero (0,0) only = 1; h = relu([1, 1]) -> 2 ops
    #           + biases nnz 1 + 1  => 1 + 1 + 2 + 1 = 5
    # sample 2: x all nonzero -> 3 weight ops; h = relu([3, 4]) -> 2;  + 1 + 1 => 7
    assert ops.effective == (5 + 7) / 2
    assert ops.samples == 2
