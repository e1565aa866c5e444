"""The model zoo: exact parameter counts, super-resolution scales, attention, discriminators."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pipeline.core.models import build_model, count_params, model_defaults, needs_bicubic_input
from pipeline.core.models.blocks import ChannelAttention, SpatialAttention, attention
from pipeline.core.models.pagenet import describe

# Every registered model at its defaults. The ones derived by hand below pin the architecture;
# the rest pin the defaults against accidental change.
DEFAULT_PARAMS = {
    "arcnn": 117_843,
    "dncnn": 558_403,
    "edsr": 1_369_859,
    "nafnet": 1_137_203,
    "pagenet": 147_711,
    "patchgan_discriminator": 2_768_705,
    "pix2pix_unet": 7_314_755,
    "rdn": 953_155,
    "resunet": 2_232_435,
    "srcnn": 20_099,
    "srgan_discriminator": 5_213_569,
    "srresnet": 1_548_547,
    "unet_smp": 4_132_219,
}


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


@pytest.mark.parametrize("name", sorted(DEFAULT_PARAMS))
def test_parameter_count_at_defaults(name: str):
    assert count_params(build_model(name)) == DEFAULT_PARAMS[name]


def test_parameter_counts_by_hand():
    # SRCNN 9-1-5, 64 and 32 maps.
    assert conv(3, 64, 9) + conv(64, 32, 1) + conv(32, 3, 5) == DEFAULT_PARAMS["srcnn"]
    # ARCNN 9-7-1-5, 64-32-16 maps, a PReLU slope per channel.
    arcnn = conv(3, 64, 9) + conv(64, 32, 7) + conv(32, 16, 1) + conv(16, 3, 5) + 64 + 32 + 16
    assert arcnn == DEFAULT_PARAMS["arcnn"]
    # EDSR-baseline: head, 16 blocks of two convs, body conv, x2 sub-pixel, tail.
    edsr = conv(3, 64, 3) + 33 * conv(64, 64, 3) + conv(64, 256, 3) + conv(64, 3, 3)
    assert edsr == DEFAULT_PARAMS["edsr"]
    # SRResNet x4: 9x9 head + PReLU, 16 blocks (two bias-free convs, two BNs, a PReLU),
    # conv + BN, two x2 stages (conv + PReLU), 9x9 tail.
    block = 2 * conv(64, 64, 3, bias=False) + 2 * 128 + 64
    srresnet = conv(3, 64, 9) + 64 + 16 * block + conv(64, 64, 3, False) + 128
    srresnet += 2 * (conv(64, 256, 3) + 64) + conv(64, 3, 9)
    assert srresnet == DEFAULT_PARAMS["srresnet"]
    # SRGAN discriminator: 8 convs (BN and no bias after the first), pooled dense 1024 -> 1.
    widths = [64, 64, 128, 128, 256, 256, 512, 512]
    d = conv(3, 64, 3) + sum(
        conv(a, b, 3, bias=False) + 2 * b for a, b in itertools.pairwise(widths)
    )
    assert d + 512 * 1024 + 1024 + 1024 + 1 == DEFAULT_PARAMS["srgan_discriminator"]
    # 70x70 PatchGAN on 6 channels.
    patchgan = conv(6, 64, 4) + conv(64, 128, 4, False) + 256 + conv(128, 256, 4, False) + 512
    patchgan += conv(256, 512, 4, False) + 1024 + conv(512, 1, 4)
    assert patchgan == DEFAULT_PARAMS["patchgan_discriminator"]
    # Light RDN x2: SFE, 5 blocks of 4 dense layers (growth 32) + 1x1 fusion, GFF, x2, tail.
    rdb = sum(conv(64 + i * 32, 32, 3) for i in range(4)) + conv(64 + 4 * 32, 64, 1)
    rdn = conv(3, 64, 3) + conv(64, 64, 3) + 5 * rdb + conv(5 * 64, 64, 1) + conv(64, 64, 3)
    assert rdn + conv(64, 256, 3) + conv(64, 3, 3) == DEFAULT_PARAMS["rdn"]


def test_paper_sized_variants_match_the_reference_implementations():
    # pix2pix's unet_256 (ngf 64, 8 levels) and EDSR-baseline x3 / x4.
    assert count_params(build_model("pix2pix_unet", ngf=64, num_downs=8)) == 54_413_955
    assert count_params(build_model("edsr", scale=3)) == 1_554_499
    assert count_params(build_model("edsr", scale=4)) == 1_517_571


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("edsr", {"n_feats": 8, "n_blocks": 2}),
        ("srresnet", {"n_feats": 8, "n_blocks": 2}),
        ("rdn", {"channels": 8, "growth": 4, "n_blocks": 2, "n_layers": 2}),
        ("rdn", {"channels": 8, "growth": 4, "n_blocks": 2, "upsampler": "transposed"}),
    ],
)
@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_super_resolution_scales_on_odd_sizes(name: str, args: dict, scale: int):
    model = build_model(name, scale=scale, **args).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 7, 11)).shape == (2, 3, 7 * scale, 11 * scale)


@pytest.mark.parametrize("name", ["edsr", "srresnet", "rdn"])
def test_scales_the_upsampler_cannot_build_are_refused(name: str):
    for scale in (0, 5, 6):
        with pytest.raises(ValueError, match=f"{name}: scale must be 1, 3 or a power of two"):
            build_model(name, scale=scale)


def test_transposed_upsampling_takes_any_integer_scale():
    model = build_model("rdn", scale=5, upsampler="transposed", n_blocks=1, channels=8, growth=4)
    assert model(torch.rand(1, 3, 3, 4)).shape == (1, 3, 15, 20)
    with pytest.raises(ValueError, match="upsampler must be one of"):
        build_model("rdn", upsampler="nearest")


@pytest.mark.parametrize("name", ["srcnn", "arcnn"])
def test_bicubic_input_models_keep_the_size(name: str):
    # They work at the output resolution: the trainer hands them the bicubic-upsampled input.
    assert needs_bicubic_input(name)
    assert "scale" not in model_defaults(name)
    with torch.no_grad():
        assert build_model(name)(torch.rand(1, 3, 13, 9)).shape == (1, 3, 13, 9)
    assert not needs_bicubic_input("edsr")


def test_srcnn_with_network_deconvolution():
    plain, deconv = build_model("srcnn"), build_model("srcnn", deconv=True)
    # The same weights; the whitening statistics are buffers, not parameters.
    assert count_params(deconv) == count_params(plain)
    x = torch.rand(2, 3, 20, 24)
    out = deconv(x)
    assert out.shape == x.shape
    out.mean().backward()
    assert all(p.grad is not None for p in deconv.parameters())
    with pytest.raises(ValueError, match="odd"):
        build_model("srcnn", f2=2)


def test_edsr_with_network_deconvolution_replaces_exactly_the_block_convs():
    from pipeline.core.models.deconv import Deconv2d

    model = build_model("edsr", n_blocks=3, n_feats=16, deconv=True, deconv_block=8)
    deconvs = [m for m in model.modules() if isinstance(m, Deconv2d)]
    plain = [m for m in model.modules() if type(m) is nn.Conv2d]
    assert len(deconvs) == 6  # two per residual block
    assert len(plain) == 4  # head, body end, upsampler, tail
    assert all(m.block == 8 and m.features == 72 for m in deconvs)
    assert model(torch.rand(2, 3, 9, 10)).shape == (2, 3, 18, 20)


def _channel_attention(c: int) -> int:
    hidden = max(c // 16, 1)
    return c * hidden + hidden + hidden * c + c


SPATIAL = 2 * 7 * 7 + 1
RESUNET_SITES = [16, 32, 64, 128] + [128] * 4 + [128, 64, 32, 16]
# Where each model puts its attention: the channels at each site, at default settings.
ATTENTION_SITES = {
    "dncnn": [64] * 15,
    "srcnn": [64, 32],
    "arcnn": [64, 32, 16],
    "edsr": [64] * 16,
    "srresnet": [64] * 16,
    "rdn": [64] * 5,
    "resunet": RESUNET_SITES,
}


@pytest.mark.parametrize("name", sorted(ATTENTION_SITES))
def test_attention_goes_exactly_where_documented(name: str):
    sites = ATTENTION_SITES[name]
    base = DEFAULT_PARAMS[name]
    expected = {
        "channel": base + sum(_channel_attention(c) for c in sites),
        "spatial": base + SPATIAL * len(sites),
        "cbam": base + sum(_channel_attention(c) + SPATIAL for c in sites),
    }
    for kind, params in expected.items():
        assert count_params(build_model(name, attention=kind)) == params, kind
    model = build_model(name, attention="cbam").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 19, 21))
    scale = model_defaults(name).get("scale", 1)
    assert out.shape == (1, 3, 19 * scale, 21 * scale)
    with pytest.raises(ValueError, match=f"{name}: attention must be one of"):
        build_model(name, attention="se")


def test_attention_weights_with_zeroed_layers_halve_the_input():
    # With every weight and bias at zero the gates are sigmoid(0) = 0.5.
    x = torch.rand(2, 32, 5, 6)
    for module, factor in [
        (ChannelAttention(32), 0.5),
        (SpatialAttention(), 0.5),
        (attention("cbam", 32, "test"), 0.25),
    ]:
        for p in module.parameters():
            nn.init.zeros_(p)
        torch.testing.assert_close(module(x), x * factor)
    # The channel gate depends on each channel's statistics: scaling one channel changes it.
    gate = ChannelAttention(32)
    y = x.clone()
    y[:, 0] *= 3
    ratio = gate(y)[:, 1] / gate(x)[:, 1]
    assert not torch.allclose(ratio, torch.ones_like(ratio))


def test_srgan_discriminator_gives_one_logit_per_image_at_any_size():
    model = build_model("srgan_discriminator").eval()
    assert model.conditional is False
    with torch.no_grad():
        for h, w in [(96, 96), (37, 53), (1, 1)]:
            assert model(torch.rand(2, 3, h, w)).shape == (2, 1)
    with pytest.raises(ValueError, match="unconditional"):
        model(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_patchgan_judges_pairs_patch_by_patch():
    model = build_model("patchgan_discriminator").eval()
    assert model.conditional is True
    with torch.no_grad():
        x = torch.rand(1, 3, 256, 256)
        assert model(x, x).shape == (1, 1, 30, 30)  # the paper's 30x30 map of 70x70 patches
        # 5 rows are padded to 24, which leave one row: 24 -> 12 -> 6 -> 3 -> 2 -> 1; the 37
        # columns give 37 -> 18 -> 9 -> 4 -> 3 -> 2.
        small = torch.rand(2, 3, 5, 37)
        assert model(small, small).shape == (2, 1, 1, 2)
    with pytest.raises(ValueError, match="conditional"):
        model(x)


def test_pix2pix_output_is_an_image_and_dropout_is_off_at_eval():
    torch.manual_seed(0)
    model = build_model("pix2pix_unet", ngf=8, num_downs=6)
    x = torch.rand(2, 3, 21, 30)
    model.eval()
    with torch.no_grad():
        out = model(x)
        assert out.shape == x.shape
        assert out.min() >= 0 and out.max() <= 1
        assert torch.equal(out, model(x))  # deterministic in eval mode
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 1  # 6 levels: one 8ngf
    assert sum(isinstance(m, nn.Dropout) for m in build_model("pix2pix_unet").modules()) == 1
    assert (
        sum(isinstance(m, nn.Dropout) for m in build_model("pix2pix_unet", num_downs=8).modules())
        == 3
    )
    with pytest.raises(ValueError, match="at least 5"):
        build_model("pix2pix_unet", num_downs=4)


def test_pagenet_parameters_by_hand_and_its_start_at_the_identity():
    # encoder: 3->16->32->32->64->64->64 3x3 convs; head: (mean, max of 64) + 4 x 32 bins ->
    # 128 -> 3 x 17 curve values + 9 matrix + 3 bias
    encoder = sum(
        conv(a, b, 3) for a, b in [(3, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 64)]
    )
    head = (256 * 128 + 128) + (128 * 63 + 63)
    model = build_model("pagenet")
    assert count_params(model) == encoder + head == 147_711
    local = build_model("pagenet", local=8)
    assert count_params(local) - 147_711 == conv(6, 8, 3) + conv(8, 8, 3) * 2 + conv(8, 3, 3)
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        assert torch.allclose(model(x), x, atol=1e-6)  # a zero head is no correction at all


def test_pagenet_corrects_a_whole_page_by_its_context():
    """The same context gives the same correction, wherever a patch of the page is; and the
    correction is a function of the colour alone (no neighbourhood) without the local part."""
    torch.manual_seed(0)
    model = build_model("pagenet", thumb=16, bins=8).eval()
    with torch.no_grad():
        for p in model.head[-1].parameters():
            p.normal_(0, 0.3)
        page = torch.rand(1, 3, 48, 48)
        ctx = model.context(*describe(page, 16, 8))
        whole = model(page, context=ctx)
        assert torch.equal(model(page), whole)  # the page as its own page: the same context
        patch = model(page[..., 8:24, 16:40], context=ctx)
        assert torch.allclose(patch, whole[..., 8:24, 16:40], atol=1e-6)
        flat = page.reshape(1, 3, 1, -1)
        assert torch.allclose(model(flat, context=ctx).reshape_as(whole), whole, atol=1e-6)
