"""The training input: a tf.data pipeline that is a pure function of the step.

The release reads pairs through queue runners: one random crop of the stacked
(blur, sharp) pair, cast to float and divided by 255, gray models through
`tf.image.rgb_to_grayscale`, batches of 16. This pipeline does the same, but every
element is computed from its index alone: element e (the e-th image of the run,
e = step * global_batch + position) is pair `order(e // pairs)[e % pairs]`, where
the order is the list order, or with shuffling a permutation seeded by (seed,
epoch); its crop offset and augmentation are stateless random draws keyed on
(seed, e). So a run restarted at step s reads exactly what it would have read,
with no iterator state to save, and two runs with one seed read the same data.
"""

import tensorflow as tf

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Offset of the bit depth byte in a PNG file (8-byte signature, IHDR length and
# type, width and height).
PNG_BIT_DEPTH_OFFSET = 24

# Independent random streams per purpose, folded into the user's seed.
_SHUFFLE_STREAM, _CROP_STREAM, _AUGMENT_STREAM = 1, 2, 3


def decode_image(contents):
    """Decodes PNG (8 or 16 bit), JPEG, BMP or GIF bytes to RGB float32 in [0, 1].

    8-bit images are divided by 255 as the release does; 16-bit PNGs are decoded at
    16 bits and divided by 65535. Gray images are expanded to three channels and an
    alpha channel is dropped, as `tf.image.decode_image(channels=3)` does.

    Args:
        contents: scalar string tensor, the file's bytes.

    Returns:
        (height, width, 3) float32 tensor.
    """
    is_png16 = tf.logical_and(
        tf.equal(tf.strings.substr(contents, 0, len(PNG_SIGNATURE)), PNG_SIGNATURE),
        tf.equal(tf.strings.substr(contents, PNG_BIT_DEPTH_OFFSET, 1), b"\x10"))

    def decode_16_bit():
        image = tf.io.decode_png(contents, channels=3, dtype=tf.uint16)
        return tf.cast(image, tf.float32) / 65535.0

    def decode_8_bit():
        image = tf.io.decode_image(contents, channels=3, expand_animations=False)
        return tf.cast(image, tf.float32) / 255.0

    image = tf.cond(is_png16, decode_16_bit, decode_8_bit)
    image.set_shape([None, None, 3])
    return image


def load_pair(sharp_path, blur_path, channels):
    """Reads one pair as the network sees it.

    Args:
        sharp_path, blur_path: scalar string tensors.
        channels: 3 for `color` models, 1 for `gray`/`lstm` (`rgb_to_grayscale`).

    Returns:
        (blur, sharp), each (height, width, channels) float32 in [0, 1].
    """
    images = [decode_image(tf.io.read_file(path)) for path in (blur_path, sharp_path)]
    if channels == 1:
        images = [tf.image.rgb_to_grayscale(image) for image in images]
    return tuple(images)


def _stream_seed(seed, stream, index):
    """A stateless-op seed ([2] int64) for one purpose and one element or epoch."""
    base = tf.constant([seed, stream], tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def pair_index(element, num_pairs, seed, shuffle):
    """The pair read as element `element` of the run (list order, or shuffled per epoch)."""
    epoch, position = element // num_pairs, element % num_pairs
    if not shuffle:
        return position
    order = tf.random.experimental.stateless_shuffle(
        tf.range(num_pairs, dtype=tf.int64), seed=_stream_seed(seed, _SHUFFLE_STREAM, epoch))
    return tf.gather(order, position)


def crop_pair(blur, sharp, crop_size, seed):
    """One crop at the same place in both images (a crop of the stacked pair).

    A crop of the full image size is the identity.

    Args:
        blur, sharp: (height, width, channels) tensors of one size.
        crop_size: side of the square crop.
        seed: [2] int tensor for the stateless offset draw.

    Returns:
        (blur, sharp), each (crop_size, crop_size, channels).
    """
    stacked = tf.stack([blur, sharp], axis=0)
    size = tf.stack([2, crop_size, crop_size, tf.shape(blur)[-1]])
    cropped = tf.image.stateless_random_crop(stacked, size, seed=seed)
    return cropped[0], cropped[1]


def augment_pair(blur, sharp, seed):
    """The same random horizontal flip and quarter turn applied to both images.

    Off by default: the release trains without augmentation.
    """
    draws = tf.random.stateless_uniform([2], seed=seed, minval=0, maxval=4, dtype=tf.int32)
    stacked = tf.stack([blur, sharp], axis=0)
    stacked = tf.cond(draws[0] >= 2, lambda: tf.reverse(stacked, axis=[2]), lambda: stacked)
    stacked = tf.image.rot90(stacked, k=draws[1])
    return stacked[0], stacked[1]


def training_dataset(pairs, *, batch_size, crop_size, channels, start_step, end_step,
                     seed=0, shuffle=True, augment=False, input_context=None):
    """The batches of steps [start_step, end_step) of a run, as one replica group reads them.

    Element e = step * global_batch + k is the k-th image of a step's global batch.
    Under tf.distribute each input pipeline (worker) reads the contiguous part of
    every global batch that belongs to its replicas, in per-replica batches handed
    to its replicas in turn, so the global batch is the same for any replica count.

    Args:
        pairs: `srn_tf.data.pairs.ImagePair`s, already checked (`read_datalist` or
            `read_gopro` with `TRAINING_CHECKS`).
        batch_size: the global batch (all replicas together).
        crop_size: side of the square crops.
        channels: 3 (`color`) or 1 (`gray`, `lstm`).
        start_step, end_step: the steps to produce batches for.
        seed: keys shuffling, crop offsets and augmentation.
        shuffle: a new permutation of the pairs every epoch; off: list order.
        augment: random flips and quarter turns (needs square crops).
        input_context: `tf.distribute.InputContext` (None for one device).

    Returns:
        A dataset of (blur, sharp) batches, each (per_replica_batch, crop_size,
        crop_size, channels) float32 in [0, 1].
    """
    num_pairs = len(pairs)
    replicas = input_context.num_replicas_in_sync if input_context else 1
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    if batch_size % replicas:
        raise ValueError(f"batch_size {batch_size} does not split over {replicas} replicas")
    local_share = batch_size // pipelines  # images per step read by this pipeline
    per_replica = batch_size // replicas
    sharp_paths = tf.constant([pair.sharp_path for pair in pairs])
    blur_paths = tf.constant([pair.blur_path for pair in pairs])

    def element_of(local_index):
        step, offset = local_index // local_share, local_index % local_share
        return step * batch_size + pipeline_id * local_share + offset

    def load(local_index):
        element = element_of(local_index)
        index = pair_index(element, num_pairs, seed, shuffle)
        blur, sharp = load_pair(sharp_paths[index], blur_paths[index], channels)
        blur, sharp = crop_pair(blur, sharp, crop_size, _stream_seed(seed, _CROP_STREAM, element))
        if augment:
            blur, sharp = augment_pair(blur, sharp, _stream_seed(seed, _AUGMENT_STREAM, element))
        return blur, sharp

    dataset = tf.data.Dataset.range(start_step * local_share, end_step * local_share)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(per_replica, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
