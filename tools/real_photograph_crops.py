"""Before/after crops of the release's four real blurred photographs (docs/real-photographs.md).

    python tools/real_photograph_crops.py --blurred=testing_set --network=out/network \
        --default=out/default --output_dir=docs/images

Each crop is written as docs/images/real-<name>.png: the blurred input, the network
alone and the default path, side by side at 1:1, each labelled, so that ringing
or texture the default adds shows beside the network's own output.
"""

import argparse
import os

import cv2
import numpy as np

from srn_tf.data import image_io

# name -> (photograph, left, top, width, height) in its pixels: what each shows.
CROPS = {
    "07-plate": ("07.png", 0, 320, 352, 160),       # the number plate, strong vertical edges
    "4c6-wall": ("4c6.png", 704, 0, 320, 224),      # the flat wall and a hair edge
    "01-plate": ("01.png", 304, 200, 320, 160),     # the white car's rear and plate
    "08-windows": ("08.png", 512, 0, 272, 160),     # the building's windows behind trees
}
LABEL_HEIGHT = 18
GAP = 4


def _labelled(image, label):
    strip = np.full((LABEL_HEIGHT, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, label, (4, LABEL_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blurred", required=True, help="folder of the release's testing_set")
    parser.add_argument("--network", required=True, help="srn-deblur's outputs, network alone")
    parser.add_argument("--default", required=True, help="srn-deblur's outputs, default path")
    parser.add_argument("--output_dir", required=True, help="folder for real-<name>.png")
    args = parser.parse_args()
    for name, (photo, left, top, width, height) in CROPS.items():
        panels = []
        for label, folder in (("blurred", args.blurred), ("network alone", args.network),
                              ("default", args.default)):
            image = image_io.read_image(os.path.join(folder, photo))[..., :3]
            panels.append(_labelled(image[top:top + height, left:left + width], label))
            panels.append(np.full((height + LABEL_HEIGHT, GAP, 3), 255, np.uint8))
        path = os.path.join(args.output_dir, f"real-{name}.png")
        image_io.write_image(path, np.concatenate(panels[:-1], axis=1))
        print(path, os.path.getsize(path) // 1024, "KB")


if __name__ == "__main__":
    main()
