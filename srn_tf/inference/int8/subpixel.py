"""Stride-2 transposed convolutions of an ONNX graph as sub-pixel convolutions.

onnxruntime runs a quantized network's ConvTranspose in float32 on the CPU (the
decoders' 4x4 stride-2 upsampling, about a quarter of the int8 network's time),
while it runs Conv in int8. A transposed convolution of stride 2 whose kernel side
is 2 * taps is exactly a convolution with `taps` x `taps` kernels and four times the
output channels (one group per output phase) followed by DepthToSpace (block 2,
"DCR"): with zero pads, the ConvTranspose's full output, side 2 * (n - 1) + 2 * taps,
equals the Conv's (pads taps - 1 each side, n + taps - 1 positions) rearranged.
Same arithmetic, so the graph's outputs stay the same (float32 rounding aside), and
the quantizer then sees a Conv.
"""

import numpy as np

STRIDE = 2


def _attributes(node):
    import onnx

    return {attribute.name: onnx.helper.get_attribute_value(attribute)
            for attribute in node.attribute}


def _rewritable(node, initializers):
    """Whether `node` is a 2D ConvTranspose this module rewrites: stride 2, even kernel
    sides, no pads, dilation 1, one group, no output shape or padding given, weights
    (and bias) in the graph's initializers."""
    if node.op_type != "ConvTranspose" or node.input[1] not in initializers:
        return False
    if len(node.input) > 2 and node.input[2] and node.input[2] not in initializers:
        return False
    attributes = _attributes(node)
    kernel = attributes.get("kernel_shape") or list(initializers[node.input[1]].dims[2:])
    return (len(kernel) == 2 and all(side % STRIDE == 0 for side in kernel)
            and list(attributes.get("strides", [1, 1])) == [STRIDE, STRIDE]
            and not any(attributes.get("pads", [0]))
            and all(value == 1 for value in attributes.get("dilations", [1, 1]))
            and attributes.get("group", 1) == 1
            and "output_shape" not in attributes and not any(attributes.get("output_padding", [0]))
            and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))


def subpixel_weights(weights):
    """The Conv kernel of a stride-2 ConvTranspose's kernel.

    Args:
        weights: (in_channels, out_channels, 2 * taps_h, 2 * taps_w) ONNX ConvTranspose
            weights.

    Returns:
        (4 * out_channels, in_channels, taps_h, taps_w): output channel
        (2 * row_phase + column_phase) * out_channels + c holds, at tap (i, j),
        weights[:, c, row_phase + 2 * (taps_h - 1 - i), column_phase + 2 * (taps_w - 1 - j)].
    """
    in_channels, out_channels, height, width = weights.shape
    taps_h, taps_w = height // STRIDE, width // STRIDE
    # (in, out, taps_h, 2, taps_w, 2): kernel row = 2 * tap + phase; taps reversed
    # (the Conv correlates, the transposed convolution scatters).
    grouped = weights.reshape(in_channels, out_channels, taps_h, STRIDE, taps_w, STRIDE)
    grouped = grouped[:, :, ::-1, :, ::-1, :]
    # -> (row phase, column phase, out, in, taps_h, taps_w)
    return np.ascontiguousarray(grouped.transpose(3, 5, 1, 0, 2, 4).reshape(
        STRIDE * STRIDE * out_channels, in_channels, taps_h, taps_w))


def rewrite_transposed_convolutions(model):
    """Replaces, in place, each rewritable ConvTranspose of the ONNX `model` (see the
    module's docstring) by Conv + DepthToSpace; returns how many it replaced."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    nodes, replaced = [], 0
    for node in graph.node:
        if not _rewritable(node, initializers):
            nodes.append(node)
            continue
        weights = numpy_helper.to_array(initializers[node.input[1]])
        taps_h, taps_w = weights.shape[2] // STRIDE, weights.shape[3] // STRIDE
        prefix = f"{node.name or node.output[0]}_subpixel"
        conv_inputs = [node.input[0], f"{prefix}_weights"]
        graph.initializer.append(numpy_helper.from_array(subpixel_weights(weights),
                                                         conv_inputs[1]))
        if len(node.input) > 2 and node.input[2]:
            bias = numpy_helper.to_array(initializers[node.input[2]])
            conv_inputs.append(f"{prefix}_bias")
            graph.initializer.append(numpy_helper.from_array(
                np.tile(bias, STRIDE * STRIDE), conv_inputs[2]))
        nodes.append(helper.make_node(
            "Conv", conv_inputs, [f"{prefix}_phases"], name=f"{prefix}_conv",
            kernel_shape=[taps_h, taps_w],
            pads=[taps_h - 1, taps_w - 1, taps_h - 1, taps_w - 1]))
        nodes.append(helper.make_node("DepthToSpace", [f"{prefix}_phases"], [node.output[0]],
                                      name=f"{prefix}_depth_to_space", blocksize=STRIDE,
                                      mode="DCR"))
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return replaced
