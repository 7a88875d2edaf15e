"""Breaks an srn-eval report down: the mean PSNR gain per scene and per input-PSNR band.

    srn-eval --datalist=data/default_model/test_list.txt --output_dir=eval/test
    python tools/gain_by_scene.py eval/test/per_image.csv

A mean gain hides where a model helps and where it harms: the bundled default
model's first weights gained +0.78 dB on one held-out photograph and lost 0.04 dB
on the other, and made the lightest blurs worse. The scene of an image is the
folder above its blurred image's folder (GOPRO's and srn-synth's
`<split>/<scene>/blur/NNNNNN.png`); the band is its input PSNR rounded down to
--band_db. Prints a Markdown table, or JSON with --json.
"""

import argparse
import collections
import csv
import json
import math
import sys


def scene_of(name):
    """`test/coffee/blur/000001.png` -> `coffee`; a name without such folders is its own."""
    parts = name.replace("\\", "/").split("/")
    return parts[-3] if len(parts) >= 3 else name


def read_rows(path):
    """(scene, input PSNR, PSNR gain) of every image in an srn-eval per_image.csv."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"name", "input_psnr", "psnr_gain"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not an srn-eval per_image.csv (no {', '.join(sorted(missing))} "
                             "column)")
        return [(scene_of(row["name"]), float(row["input_psnr"]), float(row["psnr_gain"]))
                for row in reader]


def _group(rows, key):
    groups = collections.defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {name: {"images": len(members),
                   "input_psnr": sum(r[1] for r in members) / len(members),
                   "psnr_gain": sum(r[2] for r in members) / len(members)}
            for name, members in sorted(groups.items())}


def breakdown(rows, band_db=3.0):
    """{"scene": {...}, "input_psnr_band": {...}, "all": {...}} of mean input PSNR and gain."""
    def band(row):
        low = math.floor(row[1] / band_db) * band_db
        return f"{low:g}-{low + band_db:g} dB"
    return {"scene": _group(rows, lambda row: row[0]),
            "input_psnr_band": _group(rows, band),
            "all": _group(rows, lambda row: "all")["all"]}


def markdown(table):
    """The breakdown as a Markdown table, scenes first, then bands, then the mean."""
    lines = ["| group | images | input PSNR | gain |", "|---|---|---|---|"]
    for kind in ("scene", "input_psnr_band"):
        for name, values in table[kind].items():
            lines.append(f"| {name} | {values['images']} | {values['input_psnr']:.2f} dB | "
                         f"{values['psnr_gain']:+.2f} dB |")
    values = table["all"]
    lines.append(f"| all | {values['images']} | {values['input_psnr']:.2f} dB | "
                 f"{values['psnr_gain']:+.2f} dB |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("per_image_csv", help="per_image.csv written by srn-eval --output_dir")
    parser.add_argument("--band_db", type=float, default=3.0,
                        help="Width of the input-PSNR bands, dB (default 3).")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of Markdown.")
    args = parser.parse_args(argv)
    if args.band_db <= 0:
        parser.error(f"--band_db must be positive. Received: {args.band_db}")
    try:
        rows = read_rows(args.per_image_csv)
    except (OSError, ValueError) as error:
        print(f"gain_by_scene: {error}", file=sys.stderr)
        return 1
    if not rows:
        print(f"gain_by_scene: {args.per_image_csv}: no images", file=sys.stderr)
        return 1
    table = breakdown(rows, args.band_db)
    print(json.dumps(table, indent=2) if args.json else markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
