"""Loading the original release's TF1 checkpoints into an SRNDeblurNet.

The release saves its generator under `g_net/`: `g_net/<scope>/weights|biases`
for plain convs and `g_net/<block>/conv1|conv2/weights|biases` for ResBlocks.
TF1 kernels have the same layout as Keras 3 ones ([kh, kw, in, out] for convs,
[kh, kw, out, in] for transposed convs), so weights are copied unchanged.
"""

import os

import tensorflow as tf

SCOPE = "g_net"
# Present in the release's checkpoints but not part of the network.
_OPTIMIZER_SUFFIXES = ("/Adam", "/Adam_1")


def _conv(name, conv):
    return {f"{name}/weights": conv.kernel, f"{name}/biases": conv.bias}


def _res_block(name, block):
    return {**_conv(f"{name}/conv1", block.conv1), **_conv(f"{name}/conv2", block.conv2)}


def tf1_variable_map(model, scope=SCOPE):
    """Maps each TF1 variable name of the release onto the model's Keras variable.

    Stage naming follows the release: encoder stage s is `enc<s>_1` (conv) then
    `enc<s>_2..`; decoder ResBlocks count down (`dec3_3, dec3_2, dec3_1`), the
    transposed conv that leaves stage s is `dec<s-1>_<n+1>`, the output conv `dec1_0`.

    Returns:
        dict from TF1 name (e.g. "g_net/enc1_2/conv1/weights") to keras.Variable.
    """
    n = model.blocks_per_stage
    names = {}
    for stage_number, stage in enumerate(model.encoder_stages, start=1):
        names.update(_conv(f"enc{stage_number}_1", stage.conv))
        for k, block in enumerate(stage.res_blocks):
            names.update(_res_block(f"enc{stage_number}_{k + 2}", block))
    if model.cell is not None:
        names.update(_conv("convLSTM/LSTM_conv", model.cell.conv))
    for stage_number, stage in zip((3, 2), model.decoder_stages):
        for k, block in enumerate(stage.res_blocks):
            names.update(_res_block(f"dec{stage_number}_{n - k}", block))
        names.update(_conv(f"dec{stage_number - 1}_{n + 1}", stage.upsample))
    for k, block in enumerate(model.output_block.res_blocks):
        names.update(_res_block(f"dec1_{n - k}", block))
    names.update(_conv("dec1_0", model.output_block.conv))
    return {f"{scope}/{name}": variable for name, variable in names.items()}


def resolve_tf1_checkpoint(path):
    """Returns the checkpoint prefix for a prefix or a folder with a `checkpoint` file.

    A release folder `checkpoints/<model>/` holds its files in `checkpoints/`,
    so that subfolder is looked in too.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        for folder in (path, os.path.join(path, "checkpoints")):
            prefix = tf.train.latest_checkpoint(folder)
            if prefix:
                return prefix
        raise FileNotFoundError(f"{path}: folder holds no TF1 checkpoint (no 'checkpoint' file)")
    if tf.io.gfile.exists(path + ".index"):
        return path
    raise FileNotFoundError(f"{path}: no such TF1 checkpoint (expected {path}.index or a folder)")


def _guess_model_type(shapes, scope=SCOPE):
    """Names the release model type a checkpoint's variables look like, if any."""
    first = shapes.get(f"{scope}/enc1_1/weights")
    if first is None:
        return None
    if first[2] == 6:
        return "color"
    return "lstm" if f"{scope}/convLSTM/LSTM_conv/weights" in shapes else "gray"


def is_tf1_checkpoint(path):
    """True when `path` resolves to a checkpoint holding the release's `g_net/` variables."""
    try:
        shapes = tf.train.load_checkpoint(resolve_tf1_checkpoint(path)).get_variable_to_shape_map()
    except (FileNotFoundError, tf.errors.OpError, ValueError):
        return False
    return any(name.startswith(SCOPE + "/") for name in shapes)


def load_tf1_checkpoint(model, path, scope=SCOPE):
    """Copies the release's TF1 weights into `model`, checking every name and shape.

    Adam slots, `beta1_power`/`beta2_power` and the step counter are ignored.

    Args:
        model: a built `SRNDeblurNet` of the checkpoint's model type.
        path: checkpoint prefix (e.g. `.../deblur.model-523000`) or its folder.
        scope: variable scope of the generator (`g_net` in the release).

    Returns:
        The checkpoint prefix that was read.

    Raises:
        FileNotFoundError: no checkpoint at `path`.
        ValueError: a variable is missing, unexpected, or has the wrong shape; the
            message names every one of them.
    """
    prefix = resolve_tf1_checkpoint(path)
    reader = tf.train.load_checkpoint(prefix)
    shapes = {
        name: shape for name, shape in reader.get_variable_to_shape_map().items()
        if name.startswith(scope + "/") and not name.endswith(_OPTIMIZER_SUFFIXES)
    }
    expected = tf1_variable_map(model, scope)
    problems = [f"missing {name}" for name in sorted(set(expected) - set(shapes))]
    problems += [f"unexpected {name}" for name in sorted(set(shapes) - set(expected))]
    for name in sorted(set(expected) & set(shapes)):
        want = tuple(expected[name].shape)
        if tuple(shapes[name]) != want:
            problems.append(f"{name} has shape {tuple(shapes[name])}, the model needs {want}")
    if problems:
        guess = _guess_model_type(shapes, scope)
        hint = f" (the checkpoint looks like model type '{guess}')" if guess else ""
        raise ValueError(
            f"{prefix}: does not fit this model{hint}: " + "; ".join(problems))
    for name, variable in expected.items():
        variable.assign(reader.get_tensor(name))
    return prefix
