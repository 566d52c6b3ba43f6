"""Every file in examples/ is a test case; the classic networks match their published figures."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from rfcalc.api import describe
from tests.helpers import EXAMPLES

ALL = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_every_example_describes(path: Path) -> None:
    report = describe(str(path))
    t = report.totals
    assert t.params == sum(r.params for r in report.layers)
    assert t.macs == sum(r.macs for r in report.layers)
    assert t.flops == 2 * t.macs
    assert report.output_shape == report.layers[-1].output_shape


def test_textbook() -> None:
    # 28 → 26 → 24 → 22; params 32·9+32 = 320, 64·32·9+64 = 18,496, 64·64·9+64 = 36,928;
    # receptive fields 3, 5, 7 (each unpadded 3×3 adds 2)
    report = describe(str(EXAMPLES / "textbook.yaml"))
    convs = [r for r in report.layers if r.type == "conv2d"]
    assert [r.output_shape for r in convs] == [(32, 26, 26), (64, 24, 24), (64, 22, 22)]
    assert [r.params for r in convs] == [320, 18496, 36928]
    assert report.totals.params == 55744
    assert [r.rf.size for r in convs] == [(3, 3), (5, 5), (7, 7)]


def test_lenet5() -> None:
    # 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 (LeCun et al. 1998, modern full-C3 form)
    report = describe(str(EXAMPLES / "lenet5.yaml"))
    assert report.totals.params == 61706
    assert report.output_shape == (10,)
    c5 = next(r for r in report.layers if r.name == "c5")
    # c1 5 → s2 6 → c3 6+4·2 = 14 → s4 16 → c5 16+4·4 = 32: the whole 32×32 input
    assert c5.rf.size == (32, 32)
    assert c5.output_shape == (120, 1, 1)


def test_alexnet_matches_torchvision() -> None:
    # torchvision docs, AlexNet_Weights.IMAGENET1K_V1: 61,100,840 params, 0.71 GFLOPS (MACs)
    report = describe(str(EXAMPLES / "alexnet.yaml"))
    assert report.totals.params == 61100840
    assert report.totals.macs == 714188480
    pool5 = next(r for r in report.layers if r.name == "pool5")
    assert pool5.output_shape == (256, 6, 6)
    # Araujo et al., "Computing Receptive Fields of CNNs" (Distill 2019), Table 1: AlexNet 195
    assert pool5.rf.size == (195, 195)


def test_vgg16_matches_torchvision() -> None:
    # torchvision docs, VGG16_Weights.IMAGENET1K_V1: 138,357,544 params, 15.47 GFLOPS (MACs)
    report = describe(str(EXAMPLES / "vgg16.yaml"))
    assert report.totals.params == 138357544
    assert report.totals.macs == 15470264320
    pool5 = next(r for r in report.layers if r.name == "pool5")
    # docs/numbers.md's anchor and Araujo et al. Table 1: r = 212, S = 32, P = 90
    assert pool5.rf.size == (212, 212)
    assert pool5.rf.stride == (Fraction(32), Fraction(32))
    assert pool5.rf.padding == (90, 90)
    assert report.layers[-1].rf.is_global
