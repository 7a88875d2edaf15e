"""How far bfloat16 and float16 outputs are from float32's, in PSNR.

    python -m benchmarks.precision_quality --height=288 --width=432

Deblurs a motion-blurred skimage.data photograph in each precision with the same
model (a checkpoint, or the `image_like` stand-in of benchmarks/common.py) and
prints JSON: the PSNR of each lower-precision output against float32's.
"""

import argparse
import json

from srn_tf import deblur_image

from benchmarks.common import PROXIES, blurred_photo, load_benchmark_model
from srn_tf.evaluation.metrics import psnr


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder (default: a stand-in)")
    parser.add_argument("--proxy", choices=PROXIES, default="image_like")
    parser.add_argument("--photo", default="coffee", help="skimage.data photograph")
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--width", type=int, default=432)
    args = parser.parse_args()
    model = load_benchmark_model(args.checkpoint, args.proxy)
    image = blurred_photo(args.photo, args.height, args.width)
    reference = deblur_image(model, image)
    result = {"model": args.checkpoint or f"proxy:{args.proxy}", "photo": args.photo,
              "size": [args.height, args.width]}
    for precision in ("bfloat16", "float16"):
        output = deblur_image(model, image, precision=precision)
        result[f"{precision}_psnr_vs_float32_db"] = round(psnr(output, reference, data_range=1.0), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
