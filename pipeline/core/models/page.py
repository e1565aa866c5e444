"""The page-context interface: what a model that restores each pixel by its whole page (its
paper, tint and tone) offers the rest of the pipeline. Data loading, tiling and the trainer go
through these names and never ask which model they hold.

A page model describes a page once, from the whole uint8 page (`describer()`, a light function
that DataLoader workers can carry); turns a batch of descriptions into its per-page context
(`context(*description)`); and restores any patch or tile of a page given that context
(`forward(x, context=...)`) or the page's description (`forward(x, page=(...))`). Called on an
image alone, it describes that image itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

# A page's description: numpy arrays computed from the whole HxWx3 uint8 RGB page.
Describer = Callable[[np.ndarray], tuple[np.ndarray, ...]]


class PageModel(nn.Module):
    """A restorer that sees the whole page; subclasses implement the two methods below."""

    def describer(self) -> Describer:
        """The function that describes a page for this model (picklable, without weights)."""
        raise NotImplementedError

    def context(self, *description: torch.Tensor) -> torch.Tensor:
        """The per-page context (B, C) from a batch of the pages' descriptions."""
        raise NotImplementedError


def describer_of(model: nn.Module) -> Describer | None:
    """The model's page describer; None for a model that restores each patch on its own."""
    return model.describer() if isinstance(model, PageModel) else None


def page_context(model: nn.Module, rgb: np.ndarray, device: torch.device) -> torch.Tensor | None:
    """The model's context for one whole page (HxWx3 uint8), computed once for all its tiles;
    None for a model without one."""
    describe = describer_of(model)
    if describe is None:
        return None
    description = [torch.from_numpy(a)[None].to(device) for a in describe(rgb)]
    return model.context(*description)
