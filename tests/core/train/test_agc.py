"""Adaptive gradient clipping: exactly the units over the threshold, never the output layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pipeline.core.models import build_model, list_models
from pipeline.core.train.agc import adaptive_clip_grad_, last_layer


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3),  # weight (3, 2, 3, 3): units are dim 0
        nn.ReLU(),
        nn.ConvTranspose2d(3, 4, 2, stride=2),  # weight (3, 4, 2, 2): units are dim 1
        nn.Conv2d(4, 1, 1),  # the output layer
    )


def test_clips_exactly_the_units_over_the_threshold():
    net = _net()
    conv, tconv, out = net[0], net[2], net[3]
    with torch.no_grad():
        conv.weight[2].zero_()  # a zero unit: its threshold is clip * eps
    # Gradients with chosen ratios |g| / max(|w|, eps) per unit: 0.005 (keep), 0.02 (clip),
    # and for the zero unit a gradient of norm 1e-4 against a threshold of 1e-5 (clip).
    w_norms = conv.weight.detach().flatten(1).norm(dim=1)
    direction = torch.randn_like(conv.weight)
    direction /= direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    conv.weight.grad = direction * torch.tensor([0.005 * w_norms[0], 0.02 * w_norms[1], 1e-4]).view(
        -1, 1, 1, 1
    )
    conv.bias.grad = torch.full((3,), 1e-6)  # a whole vector is one unit, far under
    # Transposed conv: output channel j is weight[:, j]. Units 0, 2 over, 1, 3 under.
    t_norms = tconv.weight.detach().transpose(0, 1).flatten(1).norm(dim=1)
    t_ratios = torch.tensor([0.5, 0.001, 0.03, 0.009])
    t_dir = torch.randn_like(tconv.weight)
    t_dir /= t_dir.transpose(0, 1).flatten(1).norm(dim=1).view(1, -1, 1, 1)
    tconv.weight.grad = t_dir * (t_ratios * t_norms).view(1, -1, 1, 1)
    tconv.bias.grad = tconv.bias.detach().sign() * 10  # a vector far over its threshold
    out.weight.grad = torch.full_like(out.weight, 100.0)  # far over, but the output layer
    out.bias.grad = torch.full_like(out.bias, 100.0)

    before = {name: p.grad.clone() for name, p in net.named_parameters()}
    assert adaptive_clip_grad_(net, clip=0.01, eps=1e-3) == 2 + 2 + 1

    g = conv.weight.grad
    torch.testing.assert_close(g[0], before["0.weight"][0], rtol=0, atol=0)
    torch.testing.assert_close(g[1].norm(), 0.01 * w_norms[1])
    torch.testing.assert_close(g[1] / g[1].norm(), direction[1])  # only its length changed
    torch.testing.assert_close(g[2].norm(), torch.tensor(0.01 * 1e-3))
    assert torch.equal(conv.bias.grad, before["0.bias"])
    tg = tconv.weight.grad.transpose(0, 1).flatten(1).norm(dim=1)
    torch.testing.assert_close(tg[[0, 2]], 0.01 * t_norms[[0, 2]])
    assert torch.equal(tconv.weight.grad[:, [1, 3]], before["2.weight"][:, [1, 3]])
    torch.testing.assert_close(tconv.bias.grad.norm(), 0.01 * tconv.bias.detach().norm())
    assert torch.equal(out.weight.grad, before["3.weight"])
    assert torch.equal(out.bias.grad, before["3.bias"])


def test_the_output_layer_is_clipped_only_when_asked():
    net = _net()
    for p in net.parameters():
        p.grad = torch.full_like(p, 100.0)
    assert adaptive_clip_grad_(net, skip_last=False) == 3 + 1 + 4 + 1 + 1 + 1
    assert net[3].weight.grad.norm() == pytest.approx(0.01 * net[3].weight.norm().item())


@pytest.mark.parametrize("name", list_models())
def test_the_last_registered_layer_is_the_one_that_runs_last(name: str):
    model = build_model(name).eval()
    order: list[nn.Module] = []
    for module in model.modules():
        if next(module.parameters(recurse=False), None) is not None:
            module.register_forward_hook(lambda m, i, o: order.append(m))
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        model(x, x) if getattr(model, "conditional", False) else model(x)
    assert order[-1] is last_layer(model)
