"""Quality modes: named sets of inference options, --quality and its overrides."""

import json
import os
import subprocess
import sys

import pytest
from absl import flags
from absl.testing import flagsaver

from srn_tf.inference.options import (QUALITY_MODES, RELEASE_OPTIONS, InferenceOptions,
                                      quality_options)
from srn_tf.models.presets import default_model_path

FLAGS = flags.FLAGS


def test_the_modes_and_the_bundled_preset():
    assert list(QUALITY_MODES) == ["network", "standard", "best"]
    assert quality_options("network") == RELEASE_OPTIONS
    assert quality_options("standard") == InferenceOptions(
        flips=1, flat_level=True, kernel_refinement=True, denoise=True)
    assert quality_options("best") == quality_options("standard").override(flips=4)
    # The bundled model's folder asks for the standard mode (its cost is within
    # 1.75 times the network's; docs/real-photographs.md).
    with open(os.path.join(default_model_path(), "srn_config.json")) as handle:
        preset = json.load(handle)["inference"]
    assert InferenceOptions.from_config(preset) == quality_options("standard")
    with pytest.raises(ValueError, match="quality must be one of network, standard, best"):
        quality_options("fast")


@pytest.fixture()
def deblur_flags():
    import srn_tf.cli.deblur  # noqa: F401  defines the flags

    if not FLAGS.is_parsed():
        FLAGS.mark_as_parsed()
    with flagsaver.flagsaver():
        yield


def test_quality_sets_every_step_and_step_flags_override_it(deblur_flags):
    from srn_tf.cli.common import run_option_overrides

    # Without --quality, unset steps stay None: the model folder's own then apply.
    assert run_option_overrides() == dict(flips=None, flat_level=None, denoise=None,
                                          kernel_refinement=None)
    FLAGS.quality = "best"
    assert run_option_overrides() == quality_options("best").to_config()
    FLAGS.flips, FLAGS.denoise = 2, False
    assert run_option_overrides() == dict(flips=2, flat_level=True, kernel_refinement=True,
                                          denoise=False)
    FLAGS.quality, FLAGS.flips, FLAGS.denoise = "network", None, None
    FLAGS.kernel_refinement = True
    assert run_option_overrides() == dict(flips=1, flat_level=False, kernel_refinement=True,
                                          denoise=False)


@pytest.mark.parametrize("script", ["srn-deblur", "srn-eval"])
def test_an_unknown_quality_is_refused_before_tensorflow(script):
    command = [sys.executable, "-X", "importtime",
               os.path.join(os.path.dirname(sys.executable), script), "--quality=fast"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert any("--quality=fast: value should be one of <network|standard|best>" in line
               for line in errors), errors
    assert not any(line.rstrip().endswith("| tensorflow") for line in result.stderr.splitlines())
