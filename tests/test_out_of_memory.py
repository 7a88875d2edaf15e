"""An image that runs out of memory fails alone: the run goes on and reports it."""

import cv2
import keras
import numpy as np

import srn_tf
from srn_tf.inference import per_file
from srn_tf.inference.deblur_files import deblur_files


def test_a_memory_error_fails_one_file_and_the_others_are_done(tmp_path, monkeypatch):
    keras.utils.set_random_seed(0)
    model = srn_tf.build_model("color", base_filters=8, blocks_per_stage=1)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b_huge.png", "c.png"):
        cv2.imwrite(str(folder / name), np.full((32, 48, 3), 100, np.uint8))
    real = per_file.deblur_decoded

    def running_out_on_b(model, image, *args, **kwargs):
        if running_out_on_b.calls == 1:  # the second file, b_huge.png, in sorted order
            running_out_on_b.calls += 1
            raise MemoryError("Unable to allocate 9.3 GiB for an array")
        running_out_on_b.calls += 1
        return real(model, image, *args, **kwargs)

    running_out_on_b.calls = 0
    monkeypatch.setattr(per_file, "deblur_decoded", running_out_on_b)
    summary = deblur_files(folder, tmp_path / "out", checkpoint=model, progress=False)
    assert [path for path, _ in summary.failed] == [str(folder / "b_huge.png")]
    assert summary.failed[0][1] == (f"{folder / 'b_huge.png'}: out of memory (Unable to "
                                    "allocate 9.3 GiB for an array)")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
