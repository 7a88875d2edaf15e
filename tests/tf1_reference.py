"""An independent second implementation of the release's graph, for tests.

Written from the specification (../shared/ORIGINAL.md) with plain `tf.nn` ops and
a dict of TF1 variable values, without any srn_tf code, so that agreement with
the Keras model means both read the spec the same way. Also writes TF1-format
checkpoints with `tf.compat.v1`, named as the release names its variables.
"""

import os

import numpy as np
import tensorflow as tf

CHANNELS = {"color": 3, "gray": 1, "lstm": 1}


def _stage_names():
    """Yields (scope, kind, in_channels, out_channels, kernel) in the release's order."""
    yield "enc1_1", "conv", None, 32, 5
    for stage, width, previous in ((1, 32, None), (2, 64, 32), (3, 128, 64)):
        if stage > 1:
            yield f"enc{stage}_1", "conv", previous, width, 5
        for k in (2, 3, 4):
            yield f"enc{stage}_{k}", "res", width, width, 5
    for k in (3, 2, 1):
        yield f"dec3_{k}", "res", 128, 128, 5
    yield "dec2_4", "deconv", 128, 64, 4
    for k in (3, 2, 1):
        yield f"dec2_{k}", "res", 64, 64, 5
    yield "dec1_4", "deconv", 64, 32, 4
    for k in (3, 2, 1):
        yield f"dec1_{k}", "res", 32, 32, 5
    yield "dec1_0", "conv", 32, None, 5


def release_variable_shapes(model_type):
    """Returns {TF1 name: shape} of the release's generator for a model type."""
    chns = CHANNELS[model_type]
    shapes = {}
    for scope, kind, cin, cout, k in _stage_names():
        cin = 2 * chns if cin is None else cin
        cout = chns if cout is None else cout
        if kind == "conv":
            shapes[f"g_net/{scope}/weights"] = (k, k, cin, cout)
            shapes[f"g_net/{scope}/biases"] = (cout,)
        elif kind == "deconv":
            shapes[f"g_net/{scope}/weights"] = (k, k, cout, cin)
            shapes[f"g_net/{scope}/biases"] = (cout,)
        else:
            for conv in ("conv1", "conv2"):
                shapes[f"g_net/{scope}/{conv}/weights"] = (k, k, cin, cout)
                shapes[f"g_net/{scope}/{conv}/biases"] = (cout,)
    if model_type == "lstm":
        shapes["g_net/convLSTM/LSTM_conv/weights"] = (3, 3, 256, 512)
        shapes["g_net/convLSTM/LSTM_conv/biases"] = (512,)
    return shapes


def random_release_weights(model_type, seed=0):
    """Glorot-scaled random kernels and small random biases, keyed by TF1 name."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in release_variable_shapes(model_type).items():
        if name.endswith("biases"):
            weights[name] = rng.uniform(-0.02, 0.02, shape).astype(np.float32)
        else:
            fan = shape[0] * shape[1] * (shape[2] + shape[3])
            limit = np.sqrt(6.0 / fan)
            weights[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
    return weights


def write_tf1_checkpoint(weights, directory, step=523000, with_optimizer=True):
    """Saves `weights` with a TF1 Saver as `directory/deblur.model-<step>`.

    Adds what the release's checkpoints also hold: Adam slots, beta powers and
    the global step (`Variable`), which a loader must ignore.
    """
    os.makedirs(directory, exist_ok=True)
    with tf.Graph().as_default():
        var_list = {}
        for name, value in weights.items():
            var_list[name] = tf.compat.v1.Variable(value)
            if with_optimizer:
                var_list[name + "/Adam"] = tf.compat.v1.Variable(np.zeros_like(value))
                var_list[name + "/Adam_1"] = tf.compat.v1.Variable(np.ones_like(value))
        if with_optimizer:
            var_list["beta1_power"] = tf.compat.v1.Variable(0.9)
            var_list["beta2_power"] = tf.compat.v1.Variable(0.999)
        var_list["Variable"] = tf.compat.v1.Variable(step)
        saver = tf.compat.v1.train.Saver(var_list=var_list)
        with tf.compat.v1.Session() as tf1_session:
            tf1_session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(tf1_session, f"{directory}/deblur.model", global_step=step)


def legacy_resize(images, size):
    return tf.compat.v1.image.resize_bilinear(
        images, size, align_corners=False, half_pixel_centers=False)


def half_pixel_resize(images, size):
    return tf.image.resize(images, size, method="bilinear")


def release_generator(w, inputs, model_type, resize=legacy_resize):
    """The release's generator in plain tf.nn ops on tensors or TF1 graph variables.

    Works eagerly and inside a `tf.compat.v1` graph (the training-recipe test trains
    through it there).

    Args:
        w: {TF1 name: tensor or variable}.
        inputs: (n, h, w, c) float32 tensor with static shape, h and w multiples of 16.
        model_type: "color", "gray" or "lstm".
        resize: the resize function (the legacy one, or TF2's to show it differs).

    Returns:
        The 3 levels, coarse to fine, as tensors.
    """
    n, h, width = inputs.shape[0], inputs.shape[1], inputs.shape[2]

    def conv(x, scope, stride=1, relu=True):
        y = tf.nn.conv2d(x, w[f"g_net/{scope}/weights"], stride, "SAME")
        y = tf.nn.bias_add(y, w[f"g_net/{scope}/biases"])
        return tf.nn.relu(y) if relu else y

    def deconv(x, scope):
        kernel = w[f"g_net/{scope}/weights"]
        shape = [x.shape[0], x.shape[1] * 2, x.shape[2] * 2, kernel.shape[2]]
        y = tf.nn.conv2d_transpose(x, kernel, shape, 2, "SAME")
        return tf.nn.relu(tf.nn.bias_add(y, w[f"g_net/{scope}/biases"]))

    def res(x, scope):
        return x + conv(conv(x, f"{scope}/conv1"), f"{scope}/conv2", relu=False)

    outputs = []
    pred = inputs
    state = None
    for i in range(3):
        scale = 0.5 ** (2 - i)
        hi, wi = int(round(h * scale)), int(round(width * scale))
        blur_i = resize(inputs, [hi, wi])
        pred = tf.stop_gradient(resize(pred, [hi, wi]))
        x = tf.concat([blur_i, pred], axis=3)
        e1 = conv(x, "enc1_1")
        for k in (2, 3, 4):
            e1 = res(e1, f"enc1_{k}")
        e2 = conv(e1, "enc2_1", stride=2)
        for k in (2, 3, 4):
            e2 = res(e2, f"enc2_{k}")
        e3 = conv(e2, "enc3_1", stride=2)
        for k in (2, 3, 4):
            e3 = res(e3, f"enc3_{k}")
        if model_type == "lstm":
            if state is None:
                state = tf.zeros([n, hi // 4, wi // 4, 256])
            else:
                state = resize(state, [hi // 4, wi // 4])
            c, hidden = tf.split(state, 2, axis=3)
            gates = conv(tf.concat([e3, hidden], 3), "convLSTM/LSTM_conv", relu=False)
            gi, gj, gf, go = tf.split(gates, 4, axis=3)
            c = c * tf.sigmoid(gf + 1.0) + tf.sigmoid(gi) * tf.tanh(gj)
            hidden = tf.tanh(c) * tf.sigmoid(go)
            state = tf.concat([c, hidden], 3)
            e3 = hidden
        d = e3
        for k in (3, 2, 1):
            d = res(d, f"dec3_{k}")
        d = deconv(d, "dec2_4") + e2
        for k in (3, 2, 1):
            d = res(d, f"dec2_{k}")
        d = deconv(d, "dec1_4") + e1
        for k in (3, 2, 1):
            d = res(d, f"dec1_{k}")
        pred = conv(d, "dec1_0", relu=False)
        outputs.append(pred)
    return outputs


def release_forward(weights, inputs, model_type, resize=legacy_resize):
    """`release_generator` run eagerly on arrays. Returns the 3 levels as arrays.

    Args:
        weights: {TF1 name: array}.
        inputs: (n, h, w, c) float32 array, h and w multiples of 16.
        model_type: "color", "gray" or "lstm".
        resize: the resize function.
    """
    tensors = {name: tf.constant(value) for name, value in weights.items()}
    levels = release_generator(tensors, tf.constant(inputs, tf.float32), model_type, resize)
    return [level.numpy() for level in levels]
