"""The baselines' cards and options: what ``vosbench methods`` shows, importable without torch or
OpenCV."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench.runner.card import MethodCard, NoConfig
from vosbench.runner.options import check_options, option

ALGORITHMS = ("dis", "farneback")
DIS_PRESET_NAMES = ("ultrafast", "fast", "medium")  # the keys of flow.DIS_PRESETS
BORDERS = ("replicate", "background")


@dataclass(frozen=True)
class FlowConfig:
    """Options of the ``flow`` baseline.

    Attributes:
        algorithm: ``dis`` (DIS optical flow) or ``farneback``.
        preset: DIS preset: ``ultrafast``, ``fast`` or ``medium`` (ignored by Farneback).
        downscale: the flow is computed on frames resized by this factor (0.01 … 1), then
            brought back to full size with its vectors rescaled.
        smooth: sigma (pixels) of a Gaussian blur of the warped probabilities; 0 = off. At most
            50: the blur's kernel grows with sigma (1e9 would ask for gigabytes).
        soft: warp the per-object probabilities bilinearly (True) or the label map with
            nearest-neighbour sampling (False).
        border: what a pixel whose source lies outside the previous frame gets: ``replicate``
            (the nearest border pixel's probabilities: objects cut by the border keep coming
            in) or ``background``.
        variational: DIS variational refinement iterations per scale (-1 = the preset's own,
            0 = off, at most 50). Refinement smooths the flow across object boundaries, which
            spreads the masks into the background: off propagates better (see the module docstring).
    """

    algorithm: str = option("dis", choices=ALGORITHMS)
    preset: str = option("medium", choices=DIS_PRESET_NAMES)
    downscale: float = option(1.0, low=0.01, high=1.0)
    smooth: float = option(0.0, low=0.0, high=50.0)
    soft: bool = True
    border: str = option("replicate", choices=BORDERS)
    variational: int = option(0, low=-1, high=50)

    def __post_init__(self) -> None:
        check_options(self)


FIRST_FRAME = MethodCard(
    name="first-frame",
    task="semi-supervised",
    summary="repeats the annotated masks unchanged (objects appearing later are added when they "
    "appear)",
    licence="BSD-3-Clause (vosbench)",
    aliases=("copy-first-mask",),
    config=NoConfig,
)


FLOW = MethodCard(
    name="flow",
    task="semi-supervised",
    summary="propagates the masks frame to frame by backward warping with dense optical flow "
    "(OpenCV DIS or Farneback)",
    licence="BSD-3-Clause (vosbench)",
    needs_weights=False,
    devices=("cpu",),
    input_policy="native resolution (flow optionally computed on a downscaled grey frame, "
    "see downscale)",
    aliases=("optical-flow",),
    config=FlowConfig,
)
