"""configs/descan_gpu.yaml on the CPU: everything that does not need CUDA."""

import torch

from pipeline.core.config.load import load_config
from pipeline.core.models.registry import build_model


def test_descan_gpu_loads_builds_and_steps_on_cpu():
    cfg = load_config("configs/descan_gpu.yaml")
    assert cfg.train.batch_size == 64 and cfg.train.num_workers == 8
    model = build_model(cfg.model.name, **dict(cfg.model.args))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.train.lr))
    x = torch.rand(2, 3, 32, 32)
    y = model(x)
    assert y.shape == x.shape
    loss = (y - torch.rand_like(x)).abs().mean()
    loss.backward()
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
