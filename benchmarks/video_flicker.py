"""Flicker of frame-by-frame deblurring, measured on synthetic panned clips.

    python -m benchmarks.video_flicker --output=benchmarks/results/video_flicker.json

A clip is a 192x256 window panned across a sharp photograph by a whole number of
pixels per frame (`PAN`), so that motion compensation is exact: frame t's pixel
(row, column) shows what frame t-1 showed at (row + dy, column + dx). Each frame is
blurred as `srn-synth --blur_kind=shake` blurs a pair (`trajectory.random_shaky_path`,
then `render.blur_along_path`: 15 poses averaged in gamma-2.2 linear light), with a
new hand-shake path per frame whose length follows a strength profile over the clip
(`PROFILES`: light -> heavy -> light, smoothly or in steps), without noise and with
`srn-synth`'s default noise (0.01). Every frame is deblurred as `srn-deblur` does
(`deblur_image` with the bundled model, its default options, float32).

Per clip: PSNR per frame (and its mean) against the sharp window, and flicker: the
mean absolute difference (8-bit levels) between successive frames after motion
compensation (frame t-1 shifted back by the pan, compared over the overlap), for the
output, the sharp clip and the blurred clip. Shifting is exact, so the sharp clip's
flicker is 0: whatever an output shows is its error changing from frame to frame.
Also the level flicker, the mean of |mean signed difference| over successive pairs
(brightness pumping rather than detail crawling).

Photographs: `immunohistochemistry` and the centre 512x512 of `retina` (shipped with
scikit-image; no stage of the bundled model trained on them, `coffee` and `rocket` are
the examples'), and `astronaut`, a natural photograph that the model did train on (its
PSNR is a seen scene's; its flicker still counts).

Two ways of steadying the outputs tried, each kept only if no clip's mean PSNR drops
(`option_summary`):

- blend: each output blended with the previous steadied one, moved by the motion,
  weighted per pixel by how well the two agree (`video_steadying.steady_frame`),
  with the motion measured between the outputs by phase correlation (what a video,
  whose motion nobody gives, uses) and, for comparison, with the known pan;
- steady share: the default path's steps run one by one (`deblur_with_shares`), the
  kernel-refinement share of each frame replaced by the median of SHARE_WINDOW
  frames' shares around it, against the same steps with each frame's own share.
"""

import argparse
import time

import numpy as np
import skimage.data

from benchmarks.common import centre_crop
from benchmarks.machine import machine
from benchmarks.precision_speed import PRECISION_FLAGS
from srn_tf.atomic_files import write_json
from srn_tf.checkpoints.loading import load_deblur_model
from srn_tf.data.synth import render, trajectory
from srn_tf.evaluation.metrics import psnr
from srn_tf.inference.deblur import deblur_image
from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.kernel_agreement import refinement_share
from srn_tf.inference.postprocess.kernel_refinement import (kernel_plan, refine_with_plan,
                                                            refined_share)
from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.inference.samples import from_float, to_float
from srn_tf.inference.video_steadying import estimated_shift, steady_frame
from srn_tf.models.inference_options import options_of
from srn_tf.processor import cpu_flags, read_cpuinfo

FRAME_SIZE = (192, 256)
PAN = (4, 1)  # (dx, dy) pixels per frame: the window moves right and down.
NOISE_LEVELS = (0.0, 0.01)
LIGHT_LENGTH, HEAVY_LENGTH = 3.0, 24.0
PROFILES = ("swell", "steps")
# Frames whose kernel-refinement shares' median steadies a frame's share.
SHARE_WINDOW = 3


def photographs():
    """name -> uint8 (height, width, 3) sharp photograph, at least 512 pixels a side."""
    return {"immunohistochemistry": skimage.data.immunohistochemistry(),
            "retina": centre_crop(skimage.data.retina()),
            "astronaut": skimage.data.astronaut()}


def path_lengths(profile, num_frames):
    """(num_frames,) float64 shake path lengths in pixels, light -> heavy -> light.

    "swell": a half sine from LIGHT_LENGTH up to HEAVY_LENGTH and back;
    "steps": light for the first third, heavy for the middle third, light again.
    """
    position = np.arange(num_frames) / max(num_frames - 1, 1)
    if profile == "swell":
        return LIGHT_LENGTH + (HEAVY_LENGTH - LIGHT_LENGTH) * np.sin(np.pi * position)
    if profile == "steps":
        return np.where((position >= 1 / 3) & (position < 2 / 3), HEAVY_LENGTH, LIGHT_LENGTH)
    raise ValueError(f"profile must be one of {', '.join(PROFILES)}. Received: {profile!r}")


def make_clip(image, lengths, noise_sigma, seed):
    """Sharp and blurred frames of a window panned across `image` by PAN per frame.

    Args:
        image: uint8 (height, width, 3) sharp photograph.
        lengths: (num_frames,) shake path length of each frame, pixels.
        noise_sigma: sensor noise of the blurred frames, [0, 1] units.
        seed: seeds the paths and the noise.

    Returns:
        (sharp, blurred): uint8 arrays (num_frames, 192, 256, 3).
    """
    rng = np.random.default_rng(seed)
    height, width = FRAME_SIZE
    num_frames = len(lengths)
    span_x, span_y = PAN[0] * (num_frames - 1), PAN[1] * (num_frames - 1)
    left = (image.shape[1] - width - span_x) // 2
    top = (image.shape[0] - height - span_y) // 2
    if left < 0 or top < 0:
        raise ValueError(f"a {image.shape[1]}x{image.shape[0]} image is too small for "
                         f"{num_frames} frames panned by {PAN}")
    response = render.CameraResponse("gamma")
    sharp, blurred = [], []
    for index, length in enumerate(lengths):
        offset = (left + index * PAN[0], top + index * PAN[1])
        # srn-synth's paths (PathParameters' defaults), of this frame's length.
        parameters = trajectory.PathParameters(min_length=length, max_length=length)
        poses, _ = trajectory.random_shaky_path(rng, parameters)
        blurred.append(render.blur_along_path(image, poses, response, rng, noise_sigma,
                                              FRAME_SIZE, offset))
        sharp.append(image[offset[1]:offset[1] + height, offset[0]:offset[0] + width])
    return np.stack(sharp), np.stack(blurred)


def overlap(previous, current, shift):
    """The parts of two successive frames that show the same scene.

    Args:
        previous, current: (height, width, channels) arrays.
        shift: whole (dx, dy) pixels the window moved between them (>= 0).

    Returns:
        (previous part, current part), each (height - dy, width - dx, channels).
    """
    dx, dy = shift
    height, width = current.shape[:2]
    return previous[dy:, dx:], current[:height - dy, :width - dx]


def flicker(frames, shift=PAN):
    """Temporal change of a clip after exact motion compensation.

    Args:
        frames: (num_frames, height, width, channels) uint8.

    Returns:
        (mean absolute difference, mean |mean signed difference|) over successive
        pairs, in 8-bit levels.
    """
    absolute, level = [], []
    for previous, current in zip(frames[:-1], frames[1:]):
        before, after = overlap(previous.astype(np.float64), current.astype(np.float64), shift)
        absolute.append(np.abs(after - before).mean())
        level.append(abs((after - before).mean()))
    return float(np.mean(absolute)), float(np.mean(level))


def steadied(outputs, shifts=None):
    """The outputs steadied in turn (`video_steadying.steady_frame`).

    Args:
        outputs: (num_frames, height, width, 3) uint8.
        shifts: num_frames - 1 (dx, dy) moves between successive frames; None to
            estimate each from the outputs, as a video must.
    """
    frames = [outputs[0]]
    for index in range(1, len(outputs)):
        frames.append(steady_frame(frames[-1], outputs[index - 1], outputs[index],
                                   None if shifts is None else shifts[index - 1]))
    return np.stack(frames)


def deblur_with_shares(model, blurred, steady_window=SHARE_WINDOW):
    """The default path's steps one by one, the kernel-refinement share per frame as
    measured and as the median over `steady_window` frames centred on it.

    The network and flat level run through `deblur_image` with refinement and
    denoising off (its float32 result is clipped to [0, 1], which the default path
    does only at the end); then, per frame, `refinement_share`, `kernel_plan`,
    `refine_with_plan` with (median) share times `refined_share` of the noise, and
    `denoise_output`, as `refine_with_kernel` and `deblur_image` do.

    Args:
        blurred: (num_frames, height, width, 3) uint8.

    Returns:
        (outputs with the measured shares, outputs with the steadied shares, the
        measured shares, the steadied shares); outputs uint8 like `blurred`.
    """
    network_only = options_of(model).override(kernel_refinement=False, denoise=False)
    inputs = [to_float(frame) for frame in blurred]
    networks = [deblur_image(model, planes, network_only, precision="float32")
                for planes in inputs]
    shares = np.array([refinement_share(planes, network)
                       for planes, network in zip(inputs, networks)])
    half = steady_window // 2
    padded = np.pad(shares, half, mode="edge")
    steady = np.array([np.median(padded[index:index + steady_window])
                       for index in range(len(shares))])
    measured_outputs, steady_outputs = [], []
    for planes, network, share, steady_share in zip(inputs, networks, shares, steady):
        noise = noise_level(planes)
        plan = kernel_plan(planes, network, noise)
        for value, outputs in ((share, measured_outputs), (steady_share, steady_outputs)):
            refined = (network if value == 0.0 else
                       refine_with_plan(planes, network, plan, value * refined_share(noise)))
            outputs.append(from_float(denoise_output(planes, refined, noise), np.uint8))
    return (np.stack(measured_outputs), np.stack(steady_outputs),
            [round(float(value), 3) for value in shares],
            [round(float(value), 3) for value in steady])


def clip_report(sharp, outputs):
    """PSNR per frame (and mean) and flicker of one clip's frames."""
    psnrs = [float(psnr(frame, reference)) for frame, reference in zip(outputs, sharp)]
    absolute, level = flicker(outputs)
    return {"psnr_mean": round(float(np.mean(psnrs)), 3),
            "psnr_per_frame": [round(value, 3) for value in psnrs],
            "flicker": round(absolute, 3), "level_flicker": round(level, 3)}


# Each steadying option and the outputs it changes.
OPTIONS = {"blend_known_pan": "output", "blend_estimated_motion": "output",
           "stepwise_steady_share": "stepwise_measured_share"}


def option_summary(clips):
    """Per option: the change of each clip's mean PSNR and flicker against the outputs
    it changes, the worst single frame's PSNR change, and whether it keeps (no
    clip's mean PSNR lower)."""
    summary = {}
    for option, control in OPTIONS.items():
        mean_changes = [clip[option]["psnr_mean"] - clip[control]["psnr_mean"] for clip in clips]
        frame_changes = [after - before for clip in clips
                         for after, before in zip(clip[option]["psnr_per_frame"],
                                                  clip[control]["psnr_per_frame"])]
        flicker_ratios = [clip[option]["flicker"] / clip[control]["flicker"] for clip in clips]
        summary[option] = {"against": control,
                           "psnr_mean_change": [round(value, 3) for value in mean_changes],
                           "worst_frame_psnr_change": round(min(frame_changes), 3),
                           "flicker_ratio": [round(value, 3) for value in flicker_ratios],
                           "kept": bool(min(mean_changes) >= 0.0)}
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=28, help="frames per clip")
    parser.add_argument("--seed", type=int, default=37, help="seeds every clip's paths and noise")
    parser.add_argument("--output", help="JSON file to write (printed only when not given)")
    args = parser.parse_args()

    model = load_deblur_model(None)
    clips, started = [], time.perf_counter()
    for image_index, (name, image) in enumerate(photographs().items()):
        for profile_index, profile in enumerate(PROFILES):
            for noise_index, noise in enumerate(NOISE_LEVELS):
                seed = args.seed * 1000 + image_index * 100 + profile_index * 10 + noise_index
                sharp, blurred = make_clip(image, path_lengths(profile, args.frames), noise,
                                           seed)
                outputs = np.stack([deblur_image(model, frame, precision="float32")
                                    for frame in blurred])
                estimated = [estimated_shift(previous, current)
                             for previous, current in zip(outputs[:-1], outputs[1:])]
                stepwise, steady_share, shares, steady_shares = deblur_with_shares(model,
                                                                                   blurred)
                known = [PAN] * (args.frames - 1)
                sharp_flicker, _ = flicker(sharp)
                row = {"clip": f"{name}/{profile}/noise {noise}", "image": name,
                       "profile": profile, "noise": noise, "seed": seed,
                       "sharp_flicker": round(sharp_flicker, 3),
                       "blurred": clip_report(sharp, blurred),
                       "output": clip_report(sharp, outputs),
                       "blend_known_pan": clip_report(sharp, steadied(outputs, known)),
                       "blend_estimated_motion": clip_report(sharp, steadied(outputs)),
                       "stepwise_measured_share": clip_report(sharp, stepwise),
                       "stepwise_steady_share": clip_report(sharp, steady_share),
                       "shares": shares, "steady_shares": steady_shares,
                       "stepwise_largest_difference": int(np.abs(
                           stepwise.astype(int) - outputs.astype(int)).max()),
                       "estimated_shift_error": round(float(np.mean(
                           [np.hypot(dx - PAN[0], dy - PAN[1]) for dx, dy in estimated])), 3)}
                clips.append(row)
                print({key: (value["psnr_mean"], value["flicker"], value["level_flicker"])
                       if isinstance(value, dict) else value for key, value in row.items()},
                      flush=True)
    result = {"command": "python -m benchmarks.video_flicker --frames=%d --seed=%d"
                         % (args.frames, args.seed),
              "machine": {**machine(), "precision_flags": sorted(
                  cpu_flags(read_cpuinfo()) & PRECISION_FLAGS)},
              "frame_size": FRAME_SIZE, "pan": PAN,
              "options": str(options_of(model)), "precision": "float32",
              "path_lengths": {profile: [round(value, 2) for value in
                                         path_lengths(profile, args.frames)]
                               for profile in PROFILES},
              "seconds": round(time.perf_counter() - started, 1),
              "options_tried": option_summary(clips), "clips": clips}
    print(result["options_tried"])
    if args.output:
        write_json(result, args.output)


if __name__ == "__main__":
    main()
