"""Quality modes: named sets of inference options, --quality and its overrides."""

import json
import os
import subprocess
import sys

import pytest

from srn_tf.models.inference_options import (QUALITY_MODES, RELEASE_OPTIONS, InferenceOptions,
                                      quality_options)
from srn_tf.models.presets import default_model_path


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


# In a process of its own: srn-deblur's flags are absl globals, and other tests define
# flags of the same names (srn-train's) in this one. Importing srn_tf.cli.deblur loads
# no TensorFlow, so this costs a second.
OVERRIDES = (
    "import json, sys\n"
    "from absl import flags\n"
    "import srn_tf.cli.deblur\n"
    "from srn_tf.cli.common import run_option_overrides\n"
    "results = []\n"
    "for arguments in json.loads(sys.argv[1]):\n"
    "    flags.FLAGS.unparse_flags()\n"
    "    flags.FLAGS(['srn-deblur', *arguments])\n"
    "    results.append(run_option_overrides())\n"
    "print(json.dumps(results))\n")


def run_option_overrides_for(*argument_lists):
    result = subprocess.run([sys.executable, "-c", OVERRIDES, json.dumps(argument_lists)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_quality_sets_every_step_and_step_flags_override_it():
    unset, best, best_overridden, network_refined = run_option_overrides_for(
        [], ["--quality=best"], ["--quality=best", "--flips=2", "--nodenoise"],
        ["--quality=network", "--kernel_refinement"])
    # Without --quality, unset steps stay None: the model folder's own then apply.
    assert unset == dict(flips=None, flat_level=None, denoise=None, kernel_refinement=None)
    assert best == quality_options("best").to_config()
    assert best_overridden == dict(flips=2, flat_level=True, kernel_refinement=True,
                                   denoise=False)
    assert network_refined == dict(flips=1, flat_level=False, kernel_refinement=True,
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
