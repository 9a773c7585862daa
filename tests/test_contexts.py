"""The shared torch contexts: the one seeded RNG context and the precision context."""

from __future__ import annotations

import pytest
import torch

from vosbench.errors import ConfigError
from vosbench.runner.contexts import precision_context, seeded


def test_seeded_draws_are_reproducible_and_leave_the_callers_stream_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        first = torch.rand(4)
    with seeded(7, cuda=True):  # without CUDA there is nothing more to fork
        again = torch.rand(4)
    assert torch.equal(first, again)
    assert torch.equal(torch.rand(3), expected_next), (
        "the caller's generator continues where it was"
    )
    torch.manual_seed(7)
    assert torch.equal(torch.rand(4), first), "seeded(s) draws what manual_seed(s) draws"
    with seeded(8):
        assert not torch.equal(torch.rand(4), first)


def test_precision_context_autocasts_amp_only_and_refuses_unknown_precisions():
    cpu = torch.device("cpu")
    a, b = torch.rand(4, 4), torch.rand(4, 4)
    with precision_context(cpu, "amp-bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with precision_context(cpu, "fp32"):
        assert (a @ b).dtype == torch.float32
    with pytest.raises(ConfigError, match="unsupported precision 'fp8'"):
        with precision_context(cpu, "fp8"):
            pass
