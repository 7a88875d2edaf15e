#!/usr/bin/env bash
# Rebuilds the bundled default model (srn_tf/models/presets/default/) from nothing:
#
#   bash tools/rebuild_default_model.sh
#
# Makes the training data with srn-synth (scikit-image's photographs and drawn
# dead-leaves images, no download), runs the chain of training steps in order, each
# from the weights of the one before, averages two of them where the chain does, and
# bundles the last (docs/default-model.md describes every step and what it scores).
# Every step is `srn-train --flagfile=flags/default_model.cfg` (what the steps share)
# with that step's data, start, schedule and seed on the command line.
#
# Work goes into data/ and runs/ of the repository (both git-ignored). On a 2-core CPU
# the training takes about eleven hours; the script can be stopped and rerun: made
# datasets are kept, and srn-train resumes a step from its newest checkpoint (a step
# given --stop_at_step ends there, as the bundled model's did).
set -euo pipefail
cd "$(dirname "$0")/.."

# srn-synth into a new folder, unless a finished run (synth_config.json, written
# last) is already there.
synth() {
  local dir=$1
  shift
  if [[ -f "$dir/synth_config.json" ]]; then
    echo "kept $dir"
    return
  fi
  if [[ -e "$dir" ]]; then
    echo "error: $dir holds an unfinished srn-synth run; remove it and rerun" >&2
    exit 1
  fi
  srn-synth --output_dir="$dir" "$@"
}

# The same for a list made from other lists (written under a temporary name).
make_list() {
  local path=$1
  shift
  [[ -f "$path" ]] && return
  "$@" > "$path.tmp"
  mv "$path.tmp" "$path"
}

# A training step: the shared flags, then the step's own.
step() {
  srn-train --flagfile=flags/default_model.cfg "$@"
}

# What every dataset shares: the nine training photographs, coffee and rocket held out,
# 192x192 crops at scales 0.65 to 1, camera paths of 4 to 36 pixels drawn as smooth arcs,
# hand shake or straight lines, 31 frames, noise 0.01.
COMMON=(--source=skimage --test_images=coffee,rocket --crop_size=192 --min_scale=0.65
        --blur_kind=mixed --frames_per_burst=31 --min_length=4 --max_length=36)
# From step 4 on, also 768x768 dead-leaves images.
LEAVES=(--source=dead_leaves --dead_leaves_size=768)
VALIDATION=data/default_model_mixed/validation_list.txt
# What steps 2 to 9 share besides: validation on the same 40 pairs, every 250 updates.
LATER=(--validation_datalist=$VALIDATION --validate_every=250 --checkpoint_every=250)

# --- Data -------------------------------------------------------------------------

# Step 1: 150 pairs of each photograph, averaged in linear light (gamma 2.2).
synth data/default_model "${COMMON[@]}" --pairs_per_image=150 --seed=2026
make_list data/default_model/validation_list.txt \
  bash -c '(head -20 data/default_model/test_list.txt; sed -n 151,170p data/default_model/test_list.txt)'
# Step 2: 300 of each, half averaged in linear light, half on the 8-bit values. Its
# 40 test pairs (20 of each held-out photograph) validate every later step.
synth data/default_model_mixed "${COMMON[@]}" --pairs_per_image=300 --response=mixed --seed=2030
make_list $VALIDATION bash -c 'cd data/default_model_mixed &&
  (grep coffee test_list.txt | head -20; grep rocket test_list.txt | head -20)'
# Step 3: 400 of each, made the same way.
synth data/default_model_mixed2 "${COMMON[@]}" --pairs_per_image=400 --response=mixed --seed=2032
# Step 4: half of the pairs from 9 dead-leaves images.
synth data/default_model_leaves "${COMMON[@]}" "${LEAVES[@]}" --dead_leaves_images=9 \
  --pairs_per_image=400 --response=mixed --seed=2036
# Step 5: three quarters from 27 dead-leaves images.
synth data/default_model_leaves2 "${COMMON[@]}" "${LEAVES[@]}" --dead_leaves_images=27 \
  --pairs_per_image=300 --response=mixed --seed=2038
# Step 6: the same, half of the leaves textured (stripes or grain).
synth data/default_model_textures "${COMMON[@]}" "${LEAVES[@]}" --dead_leaves_images=27 \
  --dead_leaves_texture=0.5 --pairs_per_image=300 --response=mixed --seed=2040
# Step 7: 8100 pairs made as step 6's and 2700 lightly blurred (paths of 1 to 10 px).
synth data/default_model_light/main "${COMMON[@]}" "${LEAVES[@]}" --dead_leaves_images=27 \
  --dead_leaves_texture=0.5 --pairs_per_image=225 --response=mixed --seed=2044
synth data/default_model_light/light "${COMMON[@]}" "${LEAVES[@]}" --dead_leaves_images=27 \
  --dead_leaves_texture=0.5 --pairs_per_image=75 --response=mixed --seed=2045 \
  --min_length=1 --max_length=10
make_list data/default_model_light/train_list.txt bash -c 'cd data/default_model_light &&
  sed "s|[^ ]*|main/&|g" main/train_list.txt && sed "s|[^ ]*|light/&|g" light/train_list.txt'
# Step 9: two runs of 18 dead-leaves images each, a third of the leaves cut from the
# training photographs, half of the rest textured.
for part in a:2051 b:2052; do
  synth "data/default_model_photo/${part%%:*}" "${COMMON[@]}" "${LEAVES[@]}" \
    --dead_leaves_images=18 --dead_leaves_texture=0.5 --dead_leaves_photo=0.35 \
    --pairs_per_image=150 --response=mixed --seed="${part##*:}"
done
make_list data/default_model_photo/train_list.txt bash -c 'cd data/default_model_photo &&
  for part in a b; do sed "s|[^ ]*|$part/&|g" $part/train_list.txt; done'

# --- Training -----------------------------------------------------------------------

# Step 1: from the identity (zero-initialised last conv), lr 1e-3 cosine over 2700
# updates, stopped at 1825.
step --datalist=data/default_model/train_list.txt \
  --validation_datalist=data/default_model/validation_list.txt \
  --checkpoint_dir=runs/default_model_k3 --max_steps=2700 --stop_at_step=1825 \
  --lr=0.001 --seed=2026 --validate_every=150 --checkpoint_every=150
# Step 2: a new cycle, peak lr 6e-4, cosine to 0 over 4000 updates.
step --datalist=data/default_model_mixed/train_list.txt --init_checkpoint=runs/default_model_k3 \
  --checkpoint_dir=runs/default_model_mixed --max_steps=4000 --lr=0.0006 --seed=2031 \
  "${LATER[@]}"
# Step 3: peak lr 3e-4 (as every later step), cosine over 4400 updates, stopped at 4000.
step --datalist=data/default_model_mixed2/train_list.txt --init_checkpoint=runs/default_model_mixed \
  --checkpoint_dir=runs/default_model_mixed2 --max_steps=4400 --stop_at_step=4000 \
  --lr=0.0003 --seed=2033 "${LATER[@]}"
# Steps 4 to 7: peak lr 3e-4, cosine to 0 over 3600 updates each.
step --datalist=data/default_model_leaves/train_list.txt --init_checkpoint=runs/default_model_mixed2 \
  --checkpoint_dir=runs/default_model_leaves --max_steps=3600 --lr=0.0003 --seed=2037 "${LATER[@]}"
step --datalist=data/default_model_leaves2/train_list.txt --init_checkpoint=runs/default_model_leaves \
  --checkpoint_dir=runs/default_model_leaves2 --max_steps=3600 --lr=0.0003 --seed=2039 "${LATER[@]}"
# Step 6 starts from step 5's weights rounded to float16 (stored as a bundle is);
# --init_checkpoint casts them back to float32. The rounding moves the test score by
# 0.0005 dB.
if [[ ! -e runs/default_model_leaves2_float16 ]]; then
  python -c "import srn_tf; srn_tf.save_model(srn_tf.load_model('runs/default_model_leaves2'),
    'runs/default_model_leaves2_float16', weights_dtype='float16')"
fi
step --datalist=data/default_model_textures/train_list.txt \
  --init_checkpoint=runs/default_model_leaves2_float16 \
  --checkpoint_dir=runs/default_model_textures --max_steps=3600 --lr=0.0003 --seed=2041 "${LATER[@]}"
step --datalist=data/default_model_light/train_list.txt --init_checkpoint=runs/default_model_textures \
  --checkpoint_dir=runs/default_model_light --max_steps=3600 --lr=0.0003 --seed=2046 "${LATER[@]}"
# Step 8: every weight 0.7 x step 6's + 0.3 x step 7's.
if [[ ! -e runs/default_model_blend ]]; then
  python tools/interpolate_weights.py --start=runs/default_model_textures \
    --end=runs/default_model_light --weight=0.3 --output=runs/default_model_blend
fi
# Step 9: from the blend, peak lr 3e-4, cosine to 0 over 3000 updates: the bundled weights.
step --datalist=data/default_model_photo/train_list.txt --init_checkpoint=runs/default_model_blend \
  --checkpoint_dir=runs/default_model_photo --max_steps=3000 --lr=0.0003 --seed=2053 "${LATER[@]}"

# --- Bundle -------------------------------------------------------------------------

# Scores float32 and float16 weights on the 300 test pairs and writes the package's
# folder (float16 when that costs at most 0.05 dB).
python tools/bundle_default_model.py --run_dir=runs/default_model_photo \
  --datalist=data/default_model/test_list.txt
