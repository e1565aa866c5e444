"""An exponential moving average of a model's weights, the copy that gets validated and saved.

Short runs on small data swing from epoch to epoch, and the leaderboard metric (a global mean)
swings with them; the averaged weights follow the trend instead of the last batch.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps `module`, a frozen copy of `model` whose parameters track an exponential moving
    average of the trained ones; buffers (BatchNorm statistics) are copied as they are.

    The decay warms up as min(decay, (1 + step) / (10 + step)), so the average forgets the random
    initialisation within the first few dozen steps of a short run (as in timm's ModelEmaV3).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_params = dict(self.module.named_parameters())
        for name, p in model.named_parameters():
            ema_params[name].lerp_(p.detach(), 1.0 - d)
        ema_buffers = dict(self.module.named_buffers())
        for name, b in model.named_buffers():
            ema_buffers[name].copy_(b)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = state["updates"]
