"""How close tiled deblurring comes to whole-image deblurring, as overlap grows.

    python -m benchmarks.tiling_quality --proxy=image_like --tile=512 \
        --overlaps=0,16,32,64,128,192 --height=800 --width=1200

Deblurs a motion-blurred skimage.data photograph once whole and once per
overlap in tiles, and prints JSON: the tile grid and the PSNR of each tiled
result against the whole-image result (float32 outputs, [0, 1]).
"""

import argparse
import json
import time

from srn_tf import deblur_image
from srn_tf.inference.tiling import tile_spans

from benchmarks.common import PROXIES, blurred_photo, load_benchmark_model
from srn_tf.evaluation.metrics import psnr


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder (default: a stand-in)")
    parser.add_argument("--proxy", choices=PROXIES, default="image_like",
                        help="stand-in model when no checkpoint is given")
    parser.add_argument("--photo", default="coffee", help="skimage.data photograph")
    parser.add_argument("--height", type=int, default=800,
                        help="height the photograph is resized to before blurring, pixels")
    parser.add_argument("--width", type=int, default=1200,
                        help="width the photograph is resized to before blurring, pixels")
    parser.add_argument("--tile", type=int, default=512, help="largest tile side")
    parser.add_argument("--overlaps", default="0,16,32,64,128,192",
                        help="comma-separated least overlaps to measure")
    args = parser.parse_args()

    model = load_benchmark_model(args.checkpoint, args.proxy)
    image = blurred_photo(args.photo, args.height, args.width)
    start = time.time()
    whole = deblur_image(model, image, precision="float32")
    whole_seconds = time.time() - start
    rows = []
    for overlap in [int(v) for v in args.overlaps.split(",")]:
        start = time.time()
        tiled = deblur_image(model, image, precision="float32", tile=args.tile,
                             tile_overlap=overlap)
        rows.append({
            "overlap": overlap,
            "tiles": [len(tile_spans(args.height, args.tile, overlap, model.size_multiple)),
                      len(tile_spans(args.width, args.tile, overlap, model.size_multiple))],
            "tile_shape": [tile_spans(args.height, args.tile, overlap, model.size_multiple)[0][1],
                           tile_spans(args.width, args.tile, overlap, model.size_multiple)[0][1]],
            "psnr_vs_untiled_db": round(psnr(tiled, whole, data_range=1.0), 2),
            "seconds": round(time.time() - start, 1),
        })
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({
        "model": args.checkpoint or f"proxy:{args.proxy}", "photo": args.photo,
        "size": [args.height, args.width], "tile": args.tile,
        "untiled_seconds": round(whole_seconds, 1), "overlaps": rows}, indent=1))


if __name__ == "__main__":
    main()
