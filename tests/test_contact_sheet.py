"""contact_sheet: labelled strips stacked, narrower strips padded with white."""

import numpy as np
import pytest

from srn_tf.data.contact_sheet import LABEL_HEIGHT, contact_sheet


def test_strips_stack_under_their_labels_and_pad_to_the_widest():
    red = np.zeros((10, 8, 3), np.uint8)
    red[..., 0] = 255
    small = np.full((6, 5, 3), 7, np.uint8)
    sheet = contact_sheet([("first", [red, red, red]), ("second", [small, small])])
    assert sheet.shape == (LABEL_HEIGHT + 10 + LABEL_HEIGHT + 6, 24, 3)
    np.testing.assert_array_equal(sheet[LABEL_HEIGHT:LABEL_HEIGHT + 10], np.tile(red, (1, 3, 1)))
    second = sheet[2 * LABEL_HEIGHT + 10:]
    np.testing.assert_array_equal(second[:, :10], 7)
    np.testing.assert_array_equal(second[:, 10:], 255)
    label_band = sheet[:LABEL_HEIGHT]
    assert (label_band < 128).any(), "the label text was not drawn"


def test_a_strip_of_mixed_heights_is_refused():
    with pytest.raises(ValueError, match="mixes image heights"):
        contact_sheet([("bad", [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)])])
