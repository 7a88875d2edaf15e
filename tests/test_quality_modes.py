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
    # The bundled model's folder asks for the standard mode (docs/real-photographs.md
    # gives its gain and cost).
    with open(os.path.join(default_model_path(), "srn_config.json")) as handle:
        preset = json.load(handle)["inference"]
    assert InferenceOptions.from_config(preset) == quality_options("standard")
    with pytest.raises(ValueError, match="quality must be one of network, standard, best"):
        quality_options("fast")


# In a process of its own: srn-deblur's flags are absl globals, and other tests define
# flags of the same names (srn-train's) in this one.
OPTIONS_FROM_FLAGS = (
    "import json, sys\n"
    "from absl import flags\n"
    "import srn_tf.cli.deblur\n"
    "from srn_tf.cli.common import options_from_flags\n"
    "results = []\n"
    "for arguments in json.loads(sys.argv[1]):\n"
    "    flags.FLAGS.unparse_flags()\n"
    "    flags.FLAGS(['srn-deblur', *arguments])\n"
    "    options = options_from_flags(flags.FLAGS.checkpoint)\n"
    "    results.append(options and options.to_config())\n"
    "print(json.dumps(results))\n")


def options_from_flags_for(*argument_lists):
    result = subprocess.run([sys.executable, "-c", OPTIONS_FROM_FLAGS,
                             json.dumps(argument_lists)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_quality_sets_every_step_and_step_flags_override_it():
    (unset, best, best_overridden, network_refined, default_flipped,
     steady) = options_from_flags_for(
        [], ["--quality=best"], ["--quality=best", "--flips=2", "--nodenoise"],
        ["--quality=network", "--kernel_refinement"], ["--flips=2"],
        ["--quality=network", "--steady_video"])
    # No quality flag: no options built, the model's own then apply where it loads.
    assert unset is None
    assert best == quality_options("best").to_config()
    # A step flag alone changes that step of the model's own options (the bundled
    # model's: the standard quality).
    assert default_flipped == quality_options("standard").override(flips=2).to_config()
    assert best_overridden == dict(flips=2, flat_level=True, kernel_refinement=True,
                                   denoise=False, steady_video=False)
    assert network_refined == dict(flips=1, flat_level=False, kernel_refinement=True,
                                   denoise=False, steady_video=False)
    assert steady == quality_options("network").override(steady_video=True).to_config()


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
