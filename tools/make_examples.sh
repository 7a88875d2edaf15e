#!/usr/bin/env bash
# Rebuilds examples/: blurred photographs the default model never saw in training.
# coffee and rocket are scikit-image's held-out photographs (docs/default-model.md);
# this blurs each twice at full size with hand-shake or smooth paths of 12 to 30
# pixels, with a seed other than the training data's, and keeps the sharp originals
# so `srn-eval --datalist=examples/pairs.txt` can score a model on them.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
srn-synth --source=skimage --output_dir="$work/synth" --test_images=coffee,rocket \
  --pairs_per_image=2 --seed=7 --blur_kind=mixed --frames_per_burst=31 \
  --min_length=12 --max_length=30
rm -rf examples/blurred examples/sharp
mkdir -p examples/blurred examples/sharp
: > "$work/pairs.txt"
for scene in coffee rocket; do
  for number in 000000 000001; do
    name="${scene}_${number: -1}.png"
    cp "$work/synth/test/$scene/blur/$number.png" "examples/blurred/$name"
    # No crop, so every pair of a scene has the same sharp image: keep one copy.
    cp "$work/synth/test/$scene/sharp/$number.png" "examples/sharp/$scene.png"
    echo "sharp/$scene.png blurred/$name" >> "$work/pairs.txt"
  done
done
mv "$work/pairs.txt" examples/pairs.txt
