"""Bundles a trained run as the package's default model, float16 if that costs <= 0.05 dB.

    python tools/bundle_default_model.py --run_dir=runs/default_model_photo \
        --datalist=data/default_model/test_list.txt

Loads the run's newest checkpoint, scores it on --datalist in float32 and again
with its weights rounded to float16 (the paper's PSNR, by
`srn_tf.evaluation.evaluate.evaluate`, as srn-eval), and writes
`srn_tf/models/presets/default/` (with the bundled inference preset in its
srn_config.json) with float16 weights when the mean PSNR moves by at most
--max_float16_loss dB, float32 weights otherwise. Prints both scores
as JSON. The command above is the last step of tools/rebuild_default_model.sh
(docs/default-model.md).
"""

import json
import os
import tempfile

from absl import app, flags

import srn_tf
from srn_tf.evaluation.evaluate import evaluate
from srn_tf.data.pairs import read_datalist
from srn_tf.checkpoints.model_folder import save_model_folder
from srn_tf.models.inference_options import attach_options, quality_options
from srn_tf.models.presets import DEFAULT_PRESET, PRESETS

# What the bundled model's folder asks deblur_image to run around it: the "standard"
# quality mode (docs/default-model.md, "The inference preset"; docs/real-photographs.md).
BUNDLED_INFERENCE = quality_options("standard")

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "srn-train --checkpoint_dir of the run (or a checkpoint "
                    "prefix in it).", required=True)
flags.DEFINE_string("datalist", None, "Held-out pairs to score both precisions on.",
                    required=True)
flags.DEFINE_string("output_dir", PRESETS[DEFAULT_PRESET], "Folder to write the bundle into "
                    "(replaced).")
flags.DEFINE_float("max_float16_loss", 0.05, "Largest PSNR drop (dB) float16 weights may cost.")


def _score(model, pairs):
    summary = evaluate(model, pairs, progress=lambda line: None)
    return {key: summary[key] for key in ("psnr", "ssim", "input_psnr", "input_ssim",
                                          "psnr_gain", "ssim_gain", "images")}


def main(argv):
    del argv
    pairs = read_datalist(FLAGS.datalist)
    model = srn_tf.load_model(FLAGS.run_dir)
    with tempfile.TemporaryDirectory() as scratch:
        half_folder = os.path.join(scratch, "half")
        srn_tf.save_model(model, half_folder, weights_dtype="float16")
        scores = {"float32": _score(model, pairs),
                  "float16": _score(srn_tf.load_model(half_folder), pairs)}
    loss = scores["float32"]["psnr"] - scores["float16"]["psnr"]
    weights_dtype = "float16" if loss <= FLAGS.max_float16_loss else "float32"
    save_model_folder(attach_options(model, BUNDLED_INFERENCE), FLAGS.output_dir,
                      weights_dtype=weights_dtype)
    print(json.dumps({"weights_dtype": weights_dtype, "float16_psnr_loss": loss,
                      "datalist": FLAGS.datalist, **scores}, indent=2))


if __name__ == "__main__":
    app.run(main)
