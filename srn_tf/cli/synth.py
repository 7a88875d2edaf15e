"""srn-synth: GOPRO-style blurred/sharp training pairs from sharp images.

    srn-synth --sharp_dir=photos --output_dir=data/synth --pairs_per_image=4 --crop_size=256
    srn-synth --source=skimage --output_dir=data/skimage_synth --pairs_per_image=8
    srn-synth --sharp_dir=photos --source=dead_leaves --output_dir=data/mixed

Each blurred image averages a burst of frames along a random smooth camera path
(shift, curve and a little rotation) in linear light, as GOPRO averaged 240 fps
video frames; its sharp partner is the burst's middle frame. --blur_kind=object_motion,
camera_roll or depth_varying make blur that varies across the image. Writes
<split>/<scene>/{blur,sharp}/NNNNNN.png, train_list.txt and test_list.txt
(`sharp_path blur_path` per line, relative to --output_dir) and synth_config.json.
A --sharp_dir image that cannot be read (corrupt, truncated, above --max_megapixels) is
named in one line and left out; the others are made into pairs, and the exit status is 1.
"""

import sys


from absl import flags

from srn_tf.cli.common import (check_input_path, check_max_megapixels, check_output_folder,
                               define_max_megapixels_flag, fail, run_console_script)

FLAGS = flags.FLAGS
flags.DEFINE_string("sharp_dir", None, "Folder of sharp images (.png, .jpg, .bmp, .tif, .webp); "
                    "each image becomes one scene.")
define_max_megapixels_flag()
flags.DEFINE_multi_enum("source", [], ["skimage", "dead_leaves"],
                        "Built-in sharp images, instead of or beside --sharp_dir (repeat the "
                        "flag for both). 'skimage': the 11 photographs shipped with "
                        "scikit-image: astronaut, chelsea, coffee, motorcycle, rocket (colour) "
                        "and brick, camera, coins, grass, gravel, moon (gray, repeated into "
                        "RGB). 'dead_leaves': --dead_leaves_images procedural images of random "
                        "overlapping shapes, sized by a power law as the edges of photographs "
                        "are (scenes dead_leaves_000, dead_leaves_001 and so on)")
flags.DEFINE_integer("dead_leaves_images", 48, "How many dead-leaves images --source=dead_leaves "
                     "draws (each a scene).", lower_bound=1)
flags.DEFINE_integer("dead_leaves_size", 384, "Side of each dead-leaves image, pixels.",
                     lower_bound=1)
flags.DEFINE_float("dead_leaves_texture", 0.0, "Share of dead leaves filled with a texture: two "
                   "colours blended by stripes or by grain of several scales (0: every leaf is "
                   "flat or gradient-shaded).", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_float("dead_leaves_photo", 0.0, "Share of dead leaves cut from a photograph of the "
                   "training split (--sharp_dir's or --source=skimage's; never a test image), "
                   "turned, magnified 0.5 to 2 times and tinted to the leaf's colour: natural "
                   "textures with the leaves' edges around them. --dead_leaves_texture is then "
                   "the share of the other leaves that are textured.", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_string("output_dir", None, "New or empty folder to write the dataset into.")
flags.DEFINE_integer("pairs_per_image", 1, "Pairs made from each sharp image (each with its own "
                     "path, crop and scale).", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of every random choice; the same seed gives identical files.")
flags.DEFINE_float("test_fraction", 0.2, "Fraction of the source images held out as the test "
                   "split (at least one when there are two or more images).")
flags.DEFINE_list("test_images", [], "Scene names (file stems) to hold out as the test split; "
                  "overrides --test_fraction.")
flags.DEFINE_enum("blur_kind", "trajectory",
                  ["trajectory", "shake", "linear", "object_motion", "camera_roll",
                   "depth_varying", "mixed", "mixed_spatial"],
                  "'trajectory': a burst of frames along a smooth curved path with rotation; "
                  "'shake': a burst along a jittery hand-shake path of uneven speed; "
                  "'linear': a plain straight motion kernel; 'mixed': one of the three, "
                  "drawn for each pair. Blur varying across the image (the longest pixel "
                  "path drawn from --min_length..--max_length): 'object_motion': a blob of "
                  "the photograph moving on its own over a shaken background; "
                  "'camera_roll': rotation about an off-centre point, blur growing with the "
                  "distance from it; 'depth_varying': camera translation times a smooth "
                  "random inverse depth; 'mixed_spatial': one of these three per pair.")
flags.DEFINE_integer("frames_per_burst", 15, "Frames averaged per blurred image (odd; the middle "
                     "one is the sharp image). GOPRO averaged 7 to 13.", lower_bound=1)
flags.DEFINE_float("min_length", 5.0, "Shortest camera path, pixels.", lower_bound=0.0)
flags.DEFINE_float("max_length", 30.0, "Longest camera path, pixels.", lower_bound=0.0)
flags.DEFINE_float("max_turn", 90.0, "Largest change of direction along a path, degrees "
                   "(its curvature; 0 gives straight paths; for 'shake', the typical total "
                   "wander of the direction).", lower_bound=0.0)
flags.DEFINE_float("max_rotation", 1.0, "Largest in-plane camera rotation over a burst, degrees, "
                   "about the image centre.", lower_bound=0.0)
flags.DEFINE_float("noise_sigma", 0.01, "Gaussian sensor noise added to the blurred image, "
                   "in [0, 1] units (0.01 = 2.55 of 255).", lower_bound=0.0)
flags.DEFINE_enum("response", "gamma", ["gamma", "srgb", "linear", "mixed"],
                  "Camera response undone before averaging and redone after: x**gamma, "
                  "the sRGB curve, or none (frames averaged on the 8-bit values, as a "
                  "blur kernel convolved with a photograph does); 'mixed': gamma or none, "
                  "drawn for each pair.")
flags.DEFINE_float("highlight_gain", 0.0, "Near-white pixels (linear light above 0.8) are "
                   "brightened up to 1 + this times before the frames are averaged and the "
                   "average clipped at white, so highlights blur into saturated streaks as on a "
                   "sensor; 0: none.", lower_bound=0.0)
flags.DEFINE_integer("jpeg_quality", 0, "JPEG quality (1 to 100) the blurred image is "
                     "compressed with before it is written as PNG; 0: no JPEG.",
                     lower_bound=0, upper_bound=100)
flags.DEFINE_float("gamma", 2.2, "Gamma of --response=gamma (GOPRO used 2.2).")
flags.DEFINE_integer("crop_size", 0, "Side of a random square crop of each pair; 0 keeps the "
                     "whole (rescaled) image.", lower_bound=0)
flags.DEFINE_integer("max_side", 0, "Shrink sources whose longer side exceeds this; 0 for no "
                     "limit.", lower_bound=0)
flags.DEFINE_float("min_scale", 1.0, "Each pair shrinks its source by a random factor in "
                   "[min_scale, 1] (after --max_side), so pairs of one image differ in scale.")
flags.mark_flag_as_required("output_dir")


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.sharp_dir is None and not FLAGS.source:
        fail("give --sharp_dir=DIR, --source=skimage or --source=dead_leaves (or several)")
    check_input_path(FLAGS.sharp_dir, "folder")
    check_output_folder(FLAGS.output_dir)
    max_megapixels = check_max_megapixels()
    unreadable = []

    def skip(reason):
        unreadable.append(reason)
        print(f"skipped: {reason}", file=sys.stderr, flush=True)

    from srn_tf.data.synth.dataset import synthesize_dataset

    try:
        pairs = synthesize_dataset(
            FLAGS.output_dir, sharp_dir=FLAGS.sharp_dir, source=FLAGS.source,
            pairs_per_image=FLAGS.pairs_per_image, seed=FLAGS.seed,
            test_fraction=FLAGS.test_fraction, test_images=FLAGS.test_images,
            blur_kind=FLAGS.blur_kind, frames_per_burst=FLAGS.frames_per_burst,
            min_length=FLAGS.min_length, max_length=FLAGS.max_length,
            max_turn_degrees=FLAGS.max_turn, max_rotation_degrees=FLAGS.max_rotation,
            noise_sigma=FLAGS.noise_sigma, response=FLAGS.response, gamma=FLAGS.gamma,
            crop_size=FLAGS.crop_size, max_side=FLAGS.max_side, min_scale=FLAGS.min_scale,
            dead_leaves_images=FLAGS.dead_leaves_images,
            dead_leaves_size=FLAGS.dead_leaves_size,
            dead_leaves_texture=FLAGS.dead_leaves_texture,
            dead_leaves_photo=FLAGS.dead_leaves_photo, highlight_gain=FLAGS.highlight_gain,
            jpeg_quality=FLAGS.jpeg_quality, max_megapixels=max_megapixels,
            report_unreadable=skip)
    except (ValueError, OSError) as error:
        fail(str(error))
    print(f"wrote {len(pairs['train'])} training and {len(pairs['test'])} test pairs "
          f"to {FLAGS.output_dir}")
    if unreadable:
        fail(f"{len(unreadable)} source image(s) could not be read and were left out "
             "(each named above with its reason)")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
