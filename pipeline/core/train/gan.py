"""GAN training: the fold trainer with a discriminator beside the model (SRGAN, pix2pix).

Each step takes one discriminator step on real targets against the generator's outputs,
detached, then one generator step on the content loss plus `gan.weight` x the adversarial
loss. The discriminator has its own Adam and scaler; both go into last.pt, so a resumed run
continues them. The EMA and best.pt are the generator's, as in plain training.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch import nn

from ..data.store import PairStore
from ..models.factory import build_discriminator
from ..util import distributed
from ..util.errors import UserError
from ..util.resize import imresize
from .losses import gan_discriminator_loss, gan_generator_loss
from .trainer import FoldTrainer

# What metrics.csv logs beside the training loss: the discriminator's loss and the
# generator's two parts (unweighted).
GAN_COLUMNS = ["d_loss", "g_adv", "g_content"]


class GanTrainer(FoldTrainer):
    """FoldTrainer whose step is a discriminator step then a generator step."""

    extra_columns = tuple(GAN_COLUMNS)

    def __init__(self, cfg: DictConfig, store: PairStore, fold: int, device: torch.device):
        if distributed.world_size() > 1:
            # Two discriminator passes per backward and a frozen D in the generator's step are
            # what DDP's gradient bucketing cannot follow.
            raise UserError(
                "gan.discriminator: GAN training runs in one process; start it with "
                "python -m pipeline.train, not torchrun (folds can still run in parallel)"
            )
        super().__init__(cfg, store, fold, device)
        torch.manual_seed(cfg.train.seed + fold + 7919)
        self.disc: nn.Module = build_discriminator(cfg).to(device)
        self.d_optimizer = torch.optim.Adam(
            self.disc.parameters(), lr=cfg.gan.lr, betas=tuple(cfg.gan.betas)
        )
        self.d_scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        # last.pt holds them beside the generator's parts
        self.state.parts |= {
            "discriminator": self.disc,
            "d_optimizer": self.d_optimizer,
            "d_scaler": self.d_scaler,
        }

    def _condition(self, scan: torch.Tensor) -> torch.Tensor | None:
        """What a conditional discriminator sees beside the image: the degraded input, at the
        output's size (MATLAB bicubic for super-resolution)."""
        if not getattr(self.disc, "conditional", False):
            return None
        s = self.cfg.task.scale
        return scan if s == 1 else imresize(scan, s)

    def _d_step(self, scan: torch.Tensor, clean: torch.Tensor, fake: torch.Tensor) -> float:
        """One discriminator step: real targets against the generator's outputs, detached."""
        cond = self._condition(scan)
        self.disc.requires_grad_(True)
        with self.autocast():
            d_loss = gan_discriminator_loss(
                self.disc(clean, cond).float(),
                self.disc(fake.detach(), cond).float(),
                self.cfg.gan.mode,
            )
        self.d_optimizer.zero_grad(set_to_none=True)
        self.d_scaler.scale(d_loss).backward()
        self.d_scaler.step(self.d_optimizer)
        self.d_scaler.update()
        # Frozen while the generator steps: its loss flows through D to G only.
        self.disc.requires_grad_(False)
        return d_loss.item()

    def train_step(
        self, scan: torch.Tensor, clean: torch.Tensor, page: tuple[torch.Tensor, ...] = ()
    ) -> dict[str, float]:
        self.disc.train()
        with self.autocast():
            fake = self.forward(scan, page).float()
        d_loss = self._d_step(scan, clean, fake)
        with self.autocast():
            content = self.loss_fn(fake, clean)
            adv = gan_generator_loss(
                self.disc(fake, self._condition(scan)).float(), self.cfg.gan.mode
            )
        loss = content + self.cfg.gan.weight * adv
        self.optimize(loss, fake)
        return {
            "train_loss": loss.item(),
            "d_loss": d_loss,
            "g_adv": adv.item(),
            "g_content": content.item(),
        }

    def stepped_models(self) -> list[nn.Module]:
        return [self.model, self.disc]

    def epoch_note(self, losses: dict[str, float]) -> str:
        return f"  d_loss {losses['d_loss']:.4f} g_adv {losses['g_adv']:.4f}"
