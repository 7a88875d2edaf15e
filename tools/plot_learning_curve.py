"""Plots a training run's validation PSNR gain over its blurred inputs, step by step.

    pip install -e '.[plot]'
    python tools/plot_learning_curve.py \
        --run_dir=runs/default_model_k3,runs/default_model_mixed,runs/default_model_mixed2 \
        --output=docs/images/default-model-learning-curve.png

Reads the `validation/psnr` summaries srn-train writes (the mean PSNR of the
finest output over --validation_datalist), computes the same mean for the
blurred inputs of that list, and plots the difference: the dB the model adds.
Each stage is measured against its own validation list (from its flags.json),
so stages validated on different data still show gains, not raw PSNR.
The points also go to a JSON file beside the PNG (docs/default-model.md quotes them).

A run continued in stages (each next stage started with --init_checkpoint from
the one before) is plotted as one curve: each stage's steps are offset by the
step of the previous stage's newest checkpoint, and a dashed line marks where
each stage begins.

Stages whose run folders are gone can be continued from the JSON this tool
wrote for them: `--previous_curve=docs/images/default-model-learning-curve.json`
plots its points first and offsets --run_dir's stages by its `end_step` (the
step of its last stage's newest checkpoint; `--previous_end_step` for a JSON
written before that key existed).
"""

import glob
import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from srn_tf.data.pairs import read_datalist
from srn_tf.data.image_io import read_image
from srn_tf.evaluation.metrics import psnr
from srn_tf.atomic_files import write_json

FLAGS = flags.FLAGS
flags.DEFINE_list("run_dir", None, "srn-train --checkpoint_dir of the run; several, comma "
                  "separated and in order, for stages continued with --init_checkpoint.",
                  required=True)
flags.DEFINE_string("output", None, "PNG file to write the plot into.", required=True)
flags.DEFINE_string("validation_datalist", None,
                    "The --validation_datalist of every stage (default: read from each "
                    "stage's flags.json).")
flags.DEFINE_string("previous_curve", None,
                    "JSON this tool wrote for earlier stages (their run folders may be "
                    "gone): its points come first and --run_dir's stages continue it.")
flags.DEFINE_integer("previous_end_step", None,
                     "Step along the whole curve of the newest checkpoint of "
                     "--previous_curve's last stage (default: the JSON's end_step).")
flags.DEFINE_string("title", "Validation PSNR gain over the blurred input", "Plot title.")


def validation_points(run_dir):
    """[(step, psnr)] from the run's TensorBoard event files, sorted, last write per step."""
    points = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "train", "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "validation/psnr":
                    points[event.step] = float(tf.make_ndarray(value.tensor))
    return sorted(points.items())


def staged_points(run_dirs, offset=0):
    """[(step, psnr, stage index)] of consecutive stages, the step each later stage
    starts at, and the step of the last stage's newest checkpoint; all offset by
    `offset` (where the first stage continues an earlier curve)."""
    points, starts = [], []
    for index, run_dir in enumerate(run_dirs):
        if index:
            offset += _checkpoint_step(run_dirs[index - 1])
            starts.append(offset)
        stage = validation_points(run_dir)
        if not stage:
            raise SystemExit(f"{run_dir}: no validation/psnr summaries")
        points += [(offset + step, value, index) for step, value in stage]
    return points, starts, offset + _checkpoint_step(run_dirs[-1])


def _checkpoint_step(run_dir):
    """The step of the newest checkpoint in `run_dir`."""
    newest = tf.train.latest_checkpoint(run_dir)
    if newest is None:
        raise SystemExit(f"{run_dir}: no checkpoint (its step places the next stage)")
    return int(newest.rsplit("-", 1)[1])


def previous_curve(path, end_step=None):
    """The JSON of an earlier curve, with `end_step` set (from the argument if given)."""
    with open(path) as handle:
        curve = json.load(handle)
    if end_step is not None:
        curve["end_step"] = end_step
    if "end_step" not in curve:
        raise SystemExit(f"{path}: has no end_step; give --previous_end_step")
    if curve["steps"] and curve["end_step"] < curve["steps"][-1]:
        raise SystemExit(f"{path}: end_step {curve['end_step']} is before its last point "
                         f"(step {curve['steps'][-1]})")
    return curve


def input_psnr(datalist):
    """Mean PSNR (peak 1, float like srn-train's validation) of the list's blurred images."""
    values = []
    for pair in read_datalist(datalist):
        sharp, blur = (read_image(path).astype(np.float64) / 255.0
                       for path in (pair.sharp_path, pair.blur_path))
        values.append(psnr(blur, sharp, data_range=1.0))
    return float(np.mean(values))


def validation_datalist(run_dir):
    """--validation_datalist if given, else the one the stage in `run_dir` trained with."""
    if FLAGS.validation_datalist is not None:
        return FLAGS.validation_datalist
    with open(os.path.join(run_dir, "flags.json")) as handle:
        return json.load(handle)["validation_datalist"]


def main(argv):
    del argv
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    earlier = {"steps": [], "psnr": [], "gain": [], "input_psnr": [], "stage_starts": [],
               "end_step": 0}
    if FLAGS.previous_curve:
        earlier = previous_curve(FLAGS.previous_curve, FLAGS.previous_end_step)
    points, new_starts, end_step = staged_points(FLAGS.run_dir, offset=earlier["end_step"])
    datalists = [validation_datalist(run_dir) for run_dir in FLAGS.run_dir]
    # Stages usually share a list (same data, or --validation_datalist): score each once.
    input_psnr_of = {datalist: input_psnr(datalist) for datalist in set(datalists)}
    baselines = earlier["input_psnr"] + [input_psnr_of[datalist] for datalist in datalists]
    stage_starts = earlier["stage_starts"] + ([earlier["end_step"]] if earlier["steps"] else [])
    stage_starts += new_starts
    steps = earlier["steps"] + [step for step, _, _ in points]
    values = earlier["psnr"] + [value for _, value, _ in points]
    gains = earlier["gain"] + [value - input_psnr_of[datalists[stage]]
                               for _, value, stage in points]
    figure, axes = pyplot.subplots(figsize=(6.4, 3.6), dpi=100)
    axes.plot(steps, gains, marker="o")
    axes.axhline(0.0, color="gray", linewidth=0.8)
    for start in stage_starts:
        axes.axvline(start, color="gray", linestyle="--", linewidth=0.8)
    axes.set_xlabel("training step")
    axes.set_ylabel("PSNR gain over input (dB)")
    axes.set_title(FLAGS.title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    temporary = FLAGS.output + ".tmp.png"
    figure.savefig(temporary)
    os.replace(temporary, FLAGS.output)
    write_json({"input_psnr": baselines, "steps": steps, "psnr": values,
                           "gain": gains, "stage_starts": stage_starts,
                           "end_step": end_step},
                          os.path.splitext(FLAGS.output)[0] + ".json")
    print(f"{FLAGS.output}: {len(steps)} points, last gain {gains[-1]:+.3f} dB at step {steps[-1]}")


if __name__ == "__main__":
    app.run(main)
