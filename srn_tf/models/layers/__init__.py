"""Keras 3 layers of SRN-DeblurNet, each usable on its own."""

from srn_tf.models.layers.conv_lstm_cell import ConvLSTMCell
from srn_tf.models.layers.decoder_block import DBlock
from srn_tf.models.layers.encoder_block import EBlock
from srn_tf.models.layers.output_block import OutputBlock
from srn_tf.models.layers.res_block import ResBlock

__all__ = ["ConvLSTMCell", "DBlock", "EBlock", "OutputBlock", "ResBlock"]
