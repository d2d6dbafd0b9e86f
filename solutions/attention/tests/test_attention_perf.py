"""Performance graders: scaled_dot_product_attention on [B, H, L, d] with a causal mask, and the
forward pass of a MultiHeadSelfAttention (weights loaded into both sides) with causal and key
padding masks. Outputs produced while timed are checked against the reference's.
"""

import pytest
import torch

from autograder.testing import CheckFailed, assert_close, randn


def attention_inputs(gen, batch, heads, length, d, dv):
    q, k = randn(batch, heads, length, d, gen=gen), randn(batch, heads, length, d, gen=gen)
    v = randn(batch, heads, length, dv, gen=gen)
    mask = torch.ones(length, length, dtype=torch.bool).tril()
    return (q, k, v, mask), {}


def check_attention(student, reference):
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        raise CheckFailed("scaled_dot_product_attention: while timed, the result is not (out, attn)")
    for got, exp, what in zip(student, reference, ("out", "attn")):
        assert_close(got, exp, rtol=1e-4, atol=1e-5, fn="scaled_dot_product_attention", what=f"{what} (while timed)")


@pytest.mark.group("sdpa_perf")
def test_sdpa_speed(timing):
    timing.measure("scaled_dot_product_attention", attention_inputs, check=check_attention)


def weights(d_model: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(d_model)
    return {"qkv.weight": randn(3 * d_model, d_model, gen=gen, scale=d_model ** -0.5),
            "qkv.bias": randn(3 * d_model, gen=gen, scale=0.1),
            "proj.weight": randn(d_model, d_model, gen=gen, scale=d_model ** -0.5),
            "proj.bias": randn(d_model, gen=gen, scale=0.1)}


def build_module(module, batch, length, d_model, heads):
    """Called once in each worker (the student's and the reference's): the same weights in both."""
    m = module.MultiHeadSelfAttention(d_model, heads)
    m.load_state_dict(weights(d_model))
    return m


def module_inputs(gen, batch, length, d_model, heads):
    x = randn(batch, length, d_model, gen=gen)
    lengths = torch.randint(length // 2, length + 1, (batch,), generator=gen)
    pad = torch.arange(length)[None, :] < lengths[:, None]
    return (x,), {"causal": True, "key_padding_mask": pad}


def check_module(student, reference):
    scale = float(reference.abs().max()) if reference.numel() else 1.0
    assert_close(student, reference, rtol=1e-4, atol=1e-5 * max(scale, 1.0), fn="MultiHeadSelfAttention",
                 what="the output (while timed)")


@pytest.mark.group("mhsa_perf")
def test_mhsa_forward_speed(timing):
    timing.measure("MultiHeadSelfAttention", module_inputs, build=build_module, check=check_module)
