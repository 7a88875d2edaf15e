"""What `precision="auto"` runs in: the precision the processor computes natively.

    bfloat16  a CPU whose bfloat16 instructions outrun its float32 ones, read from
              /proc/cpuinfo: x86's `amx_bf16` flag, `avx512_bf16` on an AMD CPU (Zen 4
              and later), Arm's `bf16` feature. oneDNN then runs the convolutions in
              about half float32's time (docs/precision-and-speed.md). An Intel CPU
              with `avx512_bf16` but no AMX (Cooper Lake, or a newer Xeon whose VM
              hides AMX) gets float32: there oneDNN's bfloat16 convolution ran at half
              float32's speed, the network at 1.7 to 1.95 times float32's time
    float16   a CUDA GPU with tensor cores (compute capability 7.0 or more) that
              TensorFlow runs on; never a CPU: on x86's `avx512_fp16` oneDNN's
              float16 convolutions took as long as its bfloat16 ones without AMX
    float32   everywhere else: without those instructions bfloat16 is emulated and
              slower than float32; where /proc/cpuinfo is absent (macOS, Windows)
              nothing tells, and float32 is never slower

The choice reads the processor's flags (and x86's vendor_id), never its model name. Exported models and
Keras backends other than TensorFlow stay float32 (an export runs as it was
exported; the other backends' lower precisions are unmeasured). `choose_precision`
takes the flags text, so the choice can be tested for any processor; no TensorFlow
at import.

`usable_cpus` counts the CPUs this process may run on: the one count every step that
sets its own threads (the post-processing's pieces, onnxruntime, LiteRT, the start-up
line) uses.
"""

import dataclasses
import os

from srn_tf.precision import AUTO, check_inference_precision

CPUINFO_PATH = "/proc/cpuinfo"
# x86's bfloat16 matrix unit (Intel's AMX): bfloat16 outruns float32 wherever it is.
AMX_BFLOAT16_FLAG = "amx_bf16"
# x86's bfloat16 dot product: faster than float32 on the vendors listed only.
AVX512_BFLOAT16_FLAG = "avx512_bf16"
AVX512_BFLOAT16_VENDORS = ("AuthenticAMD",)
# The Arm feature (Armv8.6 BF16 instructions; `svebf16` is SVE's, also present then).
ARM_BFLOAT16_FEATURE = "bf16"
# Volta's: the first compute capability with float16 tensor cores.
TENSOR_CORE_CAPABILITY = (7, 0)


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run computes in and why, as the console scripts' start-up line
    says it: `str(choice)` is e.g. "precision bfloat16 (auto: the CPU has avx512_bf16)".

    Args:
        precision: "float32", "bfloat16" or "float16".
        reason: why; None when the user named the precision.
    """

    precision: str
    reason: str = None

    def __str__(self):
        return f"precision {self.precision}" + (f" ({self.reason})" if self.reason else "")


def _field(cpuinfo, names):
    """The value of the first line of `cpuinfo` whose field is one of `names` ("")."""
    for line in (cpuinfo or "").splitlines():
        name, _, value = line.partition(":")
        if name.strip() in names:
            return value.strip()
    return ""


def cpu_flags(cpuinfo):
    """The set of flags of the first processor in `cpuinfo` (the text of /proc/cpuinfo):
    the words of its `flags` line (x86) or `Features` line (Arm); empty when it has
    neither."""
    return set(_field(cpuinfo, ("flags", "Features")).split())


def cpu_vendor(cpuinfo):
    """x86's vendor_id in `cpuinfo` ("GenuineIntel", "AuthenticAMD"), "" elsewhere."""
    return _field(cpuinfo, ("vendor_id",))


def fast_bfloat16_flag(cpuinfo):
    """The flag in `cpuinfo` by which bfloat16 outruns float32 on this CPU ("amx_bf16",
    "avx512_bf16" on `AVX512_BFLOAT16_VENDORS`, or Arm's "bf16"), or None."""
    flags = cpu_flags(cpuinfo)
    if AMX_BFLOAT16_FLAG in flags:
        return AMX_BFLOAT16_FLAG
    if AVX512_BFLOAT16_FLAG in flags and cpu_vendor(cpuinfo) in AVX512_BFLOAT16_VENDORS:
        return AVX512_BFLOAT16_FLAG
    if ARM_BFLOAT16_FEATURE in flags:
        return ARM_BFLOAT16_FEATURE
    return None


def choose_precision(cpuinfo, gpu=None):
    """The precision "auto" picks for a machine, and why.

    Args:
        cpuinfo: the text of /proc/cpuinfo, or None where there is none.
        gpu: (name, (major, minor) compute capability) of the GPU the network runs
            on, or None when it runs on the CPU.

    Returns:
        A `PrecisionChoice`.
    """
    if gpu is not None:
        name, capability = gpu
        version = ".".join(map(str, capability))
        if tuple(capability) >= TENSOR_CORE_CAPABILITY:
            return PrecisionChoice("float16", f"auto: {name} has tensor cores, "
                                              f"compute capability {version}")
        return PrecisionChoice("float32", f"auto: {name} has no tensor cores, "
                                          f"compute capability {version}")
    if cpuinfo is None:
        return PrecisionChoice("float32", f"auto: no {CPUINFO_PATH} to read the CPU's "
                                          "flags from")
    flag = fast_bfloat16_flag(cpuinfo)
    if flag is not None:
        return PrecisionChoice("bfloat16", f"auto: the CPU has {flag}")
    if AVX512_BFLOAT16_FLAG in cpu_flags(cpuinfo):
        return PrecisionChoice("float32", f"auto: {AVX512_BFLOAT16_FLAG} without AMX on "
                                          f"{cpu_vendor(cpuinfo) or 'this CPU'} is slower "
                                          "than float32")
    return PrecisionChoice("float32", "auto: no native bfloat16 on this CPU")


def read_cpuinfo():
    """The text of /proc/cpuinfo, or None where there is none (macOS, Windows)."""
    try:
        with open(CPUINFO_PATH, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def usable_cpus():
    """How many CPUs this process may run on: its affinity where the system says
    (Linux), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tensorflow_gpu():
    """(name, (major, minor)) of the GPU TensorFlow runs on (its first), or None when
    it sees none. Imports TensorFlow."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return (details.get("device_name", gpus[0].name),
            tuple(details.get("compute_capability", (0, 0))))


def resolve_precision(precision, exported=False):
    """The `PrecisionChoice` of `precision`: itself when named, else ("auto") this
    machine's, read now (cheap: a small file and TensorFlow's device list).

    Args:
        precision: "auto", "float32", "bfloat16" or "float16".
        exported: the model is an export (SavedModel, ONNX, LiteRT), which runs in
            the precision it was exported with: "auto" is then float32.

    Raises:
        ValueError: `precision` is none of those.
    """
    if check_inference_precision(precision) != AUTO:
        return PrecisionChoice(precision)
    if exported:
        return PrecisionChoice("float32", "auto: an exported model runs as it was exported")
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        return PrecisionChoice("float32", f"auto: Keras runs on {backend}, where lower "
                                          "precisions are unmeasured")
    return choose_precision(read_cpuinfo(), tensorflow_gpu())
