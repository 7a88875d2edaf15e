"""precision="auto": the processor's flags choose it, and deblur_image runs it by default."""

import numpy as np
import pytest

from srn_tf import processor
# read_cpuinfo as the module defines it (conftest fakes processor.read_cpuinfo in each test).
from srn_tf.processor import PrecisionChoice, choose_precision, read_cpuinfo, resolve_precision

# /proc/cpuinfo's first processor, as these machines write it (flags lines shortened to
# their relevant part, the order kept).
SAPPHIRE_RAPIDS = ("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                   "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
                   "flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx512_bf16 "
                   "amx_bf16 amx_tile amx_int8\n\nprocessor\t: 1\nflags\t\t: fpu\n")
EPYC_ZEN4 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n"
             "flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx512_bf16\n")
# bfloat16 in silicon but slower than float32 (measured: docs/precision-and-speed.md): the
# machine this project is developed on, a Sapphire Rapids VM without AMX.
XEON_AVX512_BF16 = ("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                    "model name\t: Intel(R) Xeon(R) Processor\n"
                    "flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx512_bf16 "
                    "avx512_fp16\n")
GRAVITON3 = ("processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd evtstrm aes "
             "atomics asimddp sve asimdfhm sve2 svebf16 i8mm bf16 dgh rng\n"
             "CPU implementer\t: 0x41\n")
# No bfloat16 in silicon: an AVX2-only EPYC (Zen 2), an AVX-512 Skylake, a Graviton2.
EPYC_AVX2 = ("processor\t: 0\nmodel name\t: AMD EPYC 7B12\n"
             "flags\t\t: fpu sse2 avx fma avx2 sha_ni clzero\n")
SKYLAKE_AVX512 = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6148\n"
                  "flags\t\t: fpu sse2 avx avx2 avx512f avx512dq avx512bw avx512vl\n")
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 atomics asimddp\n"


@pytest.mark.parametrize("cpuinfo, flag", [
    (SAPPHIRE_RAPIDS, "amx_bf16"), (EPYC_ZEN4, "avx512_bf16"), (GRAVITON3, "bf16")],
    ids=["intel_amx", "amd_avx512_bf16", "arm_bf16"])
def test_auto_picks_bfloat16_where_the_cpu_flags_have_it_in_silicon(cpuinfo, flag):
    assert choose_precision(cpuinfo) == PrecisionChoice("bfloat16",
                                                        f"auto: the CPU has {flag}")


@pytest.mark.parametrize("cpuinfo", [EPYC_AVX2, SKYLAKE_AVX512, GRAVITON2, ""],
                         ids=["epyc_avx2", "skylake_avx512", "graviton2", "no_flags_line"])
def test_auto_picks_float32_where_bfloat16_would_be_emulated(cpuinfo):
    choice = choose_precision(cpuinfo)
    assert str(choice) == "precision float32 (auto: no native bfloat16 on this CPU)"


def test_intel_avx512_bf16_without_amx_stays_float32():
    assert str(choose_precision(XEON_AVX512_BF16)) == (
        "precision float32 (auto: avx512_bf16 without AMX on GenuineIntel is slower than "
        "float32)")


def test_only_the_flags_decide_never_the_model_name():
    # A model name that sounds new, on flags without the instructions: float32.
    named = EPYC_AVX2.replace("AMD EPYC 7B12", "Intel(R) Xeon(R) Platinum 8480+ amx_bf16")
    assert choose_precision(named).precision == "float32"
    assert processor.cpu_flags(EPYC_ZEN4) >= {"avx512_bf16", "avx2"}
    assert processor.cpu_vendor(EPYC_ZEN4) == "AuthenticAMD"


def test_without_proc_cpuinfo_auto_is_float32():
    assert str(choose_precision(None)) == ("precision float32 (auto: no /proc/cpuinfo to read "
                                           "the CPU's flags from)")


def test_a_gpu_with_tensor_cores_gets_float16_whatever_the_cpu():
    assert str(choose_precision(EPYC_ZEN4, ("NVIDIA H100 80GB HBM3", (9, 0)))) == (
        "precision float16 (auto: NVIDIA H100 80GB HBM3 has tensor cores, compute "
        "capability 9.0)")
    assert choose_precision(EPYC_AVX2, ("Tesla V100", (7, 0))).precision == "float16"
    assert str(choose_precision(SAPPHIRE_RAPIDS, ("Tesla P100", (6, 0)))) == (
        "precision float32 (auto: Tesla P100 has no tensor cores, compute capability 6.0)")


def test_named_precisions_are_kept_and_exports_run_float32(monkeypatch):
    monkeypatch.setattr(processor, "read_cpuinfo", lambda: EPYC_ZEN4)
    assert str(resolve_precision("float32")) == "precision float32"
    assert resolve_precision("bfloat16") == PrecisionChoice("bfloat16")
    assert str(resolve_precision("auto")) == "precision bfloat16 (auto: the CPU has avx512_bf16)"
    assert str(resolve_precision("auto", exported=True)) == (
        "precision float32 (auto: an exported model runs as it was exported)")
    with pytest.raises(ValueError, match=r"precision must be one of auto, float32, bfloat16, "
                                         r"float16\b.*\. Received: precision='half'"):
        resolve_precision("half")


def test_read_cpuinfo_is_none_where_the_file_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(processor, "CPUINFO_PATH", str(tmp_path / "cpuinfo"))
    assert read_cpuinfo() is None
    (tmp_path / "cpuinfo").write_text(GRAVITON3)
    assert read_cpuinfo() == GRAVITON3


@pytest.fixture(scope="module")
def small_model():
    import srn_tf

    return srn_tf.build_model("color", base_filters=4, blocks_per_stage=1, kernel_size=3)


def test_deblur_image_runs_auto_by_default(small_model, monkeypatch):
    import srn_tf

    image = np.random.default_rng(3).random((48, 64, 3), dtype=np.float32)
    float32 = srn_tf.deblur_image(small_model, image, precision="float32")
    bfloat16 = srn_tf.deblur_image(small_model, image, precision="bfloat16")
    assert np.abs(float32 - bfloat16).max() > 0  # the two precisions differ on this image
    # conftest's processor: no native bfloat16, so the default is float32, bit for bit.
    np.testing.assert_array_equal(srn_tf.deblur_image(small_model, image), float32)
    monkeypatch.setattr(processor, "read_cpuinfo", lambda: EPYC_ZEN4)
    np.testing.assert_array_equal(srn_tf.deblur_image(small_model, image), bfloat16)


def test_the_start_up_line_names_the_precision_and_why():
    from srn_tf.cli.common import device_line

    line = device_line(precision=choose_precision(GRAVITON3))
    assert line.startswith("running on CPU (") or line.startswith("running on GPU: "), line
    assert line.endswith("; precision bfloat16 (auto: the CPU has bf16)"), line
    assert device_line(precision=PrecisionChoice("float32")).endswith("; precision float32")
