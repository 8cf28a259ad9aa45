"""Precision `auto`: mixed bfloat16 / float16 only where the hardware gains from it."""

from __future__ import annotations

import pytest

from trainer.precision import choose_policy, cpu_flags

AMD_EPYC_NO_AVX512 = {"sse4_2", "avx", "avx2", "fma", "f16c"}
SAPPHIRE_RAPIDS = {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}


@pytest.mark.parametrize(
    ("gpus", "flags", "expected"),
    [
        ([], AMD_EPYC_NO_AVX512, "float32"),
        ([], SAPPHIRE_RAPIDS, "mixed_bfloat16"),
        ([], {"avx512f"}, "float32"),  # AVX-512 without BF16 gains nothing
        ([(8, 0)], set(), "mixed_bfloat16"),  # A100
        ([(9, 0)], set(), "mixed_bfloat16"),  # H100
        ([(7, 0), (7, 0)], set(), "mixed_float16"),  # 2 x V100, the codelab's machine
        ([(7, 5)], SAPPHIRE_RAPIDS, "mixed_float16"),  # T4: the GPU decides, not the host
        ([(6, 0)], set(), "float32"),  # P100
        ([(8, 0), (7, 0)], set(), "mixed_float16"),  # mixed cards: the oldest decides
    ],
)
def test_auto_policy(gpus, flags, expected):
    assert choose_policy("auto", gpus, flags) == expected


@pytest.mark.parametrize("requested", ["float32", "mixed_float16", "mixed_bfloat16"])
def test_an_explicit_policy_is_kept(requested):
    assert choose_policy(requested, [(9, 0)], SAPPHIRE_RAPIDS) == requested


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse avx2 avx512_bf16\n\n")
    assert cpu_flags(str(cpuinfo)) == {"fpu", "sse", "avx2", "avx512_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) == set()


def test_the_model_keeps_a_float32_output_under_a_mixed_policy():
    import keras

    from trainer.model import build_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(image_size=32, num_units=8)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.layers[1].compute_dtype == "bfloat16"  # the first Conv2D
    assert model.layers[-1].compute_dtype == "float32"
    assert model.output.dtype == "float32"
