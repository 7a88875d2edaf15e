"""The streamed plan (srn_tf.inference.streamed) against the whole-image plan, its
memory, and the refusal before any work when even it cannot fit (memory_plan)."""

import tracemalloc

import cv2
import keras
import numpy as np
import pytest
from skimage import data

import srn_tf
from srn_tf.data import image_io
from srn_tf.inference import deblur, memory_plan, per_file, streamed
from srn_tf.inference.deblur_files import deblur_files
from srn_tf.models.inference_options import QUALITY_MODES, InferenceOptions
from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import match_flat_level
from srn_tf.inference.postprocess.kernel_refinement import refine_with_kernel
from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.inference.samples import from_float, to_float
from srn_tf.inference.tiling import run_tiled


@pytest.fixture(scope="module")
def model():
    return srn_tf.load_deblur_model(None)


def _blurred_photo(height=256, width=384, noise=0.01):
    """skimage's astronaut at height x width, shaken 9 pixels sideways, with noise."""
    sharp = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    kernel = np.zeros((9, 9), np.float32)
    kernel[4] = 1 / 9
    blurred = cv2.filter2D(sharp.astype(np.float32) / 255, -1, kernel)
    blurred += np.random.default_rng(0).normal(0, noise, blurred.shape).astype(np.float32)
    return (np.clip(blurred, 0, 1) * 255).astype(np.uint8)


def _whole_image_steps(model, image, options, tile):
    """The whole-image plan's post-processing on the same tiled network output the
    streamed plan computes (so that only the post-processing's plan differs)."""
    planes = to_float(image)
    output = run_tiled(lambda batch: model(batch, training=False)[-1].numpy(), planes[None],
                       tile, 64, model.size_multiple)[0]
    if options.flat_level:
        output = match_flat_level(planes, output)
    noise = noise_level(planes)
    if options.kernel_refinement:
        output = refine_with_kernel(planes, output, noise)
    if options.denoise:
        output = denoise_output(planes, output, noise)
    return from_float(output, image.dtype)


STEPS = {"network": InferenceOptions(),
         "flat level": InferenceOptions(flat_level=True),
         "kernel refinement": InferenceOptions(flat_level=True, kernel_refinement=True),
         "denoising": InferenceOptions(flat_level=True, denoise=True),
         "standard": QUALITY_MODES["standard"]}


@pytest.mark.parametrize("step", STEPS)
def test_each_step_streamed_matches_the_whole_image_step(model, monkeypatch, step):
    """256x384 through network tiles of 128 and post-processing tiles of 128: the
    streamed plan against the whole-image steps on the same network output.

    Tolerances: the network and flat level differ only by the uint16 copy (steps of
    2.3e-5, 0.6% of an 8-bit level) and float sums, so by at most one level, on
    well under 0.6% of the samples, where truncation falls on the other side;
    refinement and denoising per tile differ near tile edges (the deconvolution's
    reach, BayesShrink's thresholds per tile): at least 45 dB PSNR
    between the two, a difference far below the steps' own effect (docs/tiling.md).
    """
    monkeypatch.setattr(streamed, "POSTPROCESS_TILE", 128)
    options = STEPS[step]
    image = _blurred_photo()
    expected = _whole_image_steps(model, image, options, 128)
    result = srn_tf.deblur_image(model, image, options, tile=128, tile_overlap=64)
    assert result.shape == image.shape and result.dtype == image.dtype
    difference = np.abs(result.astype(int) - expected.astype(int))
    if step in ("network", "flat level"):
        assert difference.max() <= 1
        assert (difference > 0).mean() < 6e-3
    else:
        assert srn_tf.psnr(result, expected) >= 45.0


@pytest.mark.parametrize("model_type", ["color", "gray", "lstm"])
@pytest.mark.parametrize("layout", [(1, np.uint8), (3, np.uint16), (4, np.uint8)])
def test_every_model_type_and_layout_streams_as_the_tiled_network_runs(model_type, layout):
    """The streamed network pass (gray and lstm models run each plane as a batch entry,
    the color model a gray image as RGB) against `run_tiled` on the whole batch, the
    way tiles ran before: within one output level (the uint16 copy), alpha kept."""
    keras.utils.set_random_seed(0)
    small = srn_tf.build_model(model_type, base_filters=8, blocks_per_stage=1)
    channels, dtype = layout
    scale = np.iinfo(dtype).max
    image = (np.random.default_rng(2).random((96, 144, channels)) * scale).astype(dtype)
    result = srn_tf.deblur_image(small, image, tile=64, tile_overlap=16)
    run_channels = 3 if channels == 4 else channels
    planes = to_float(image[:, :, :run_channels])
    outputs = run_tiled(deblur._padded_run(small, "float32"),
                        deblur._to_model_batch(small, planes), 64, 16, small.size_multiple)
    expected = from_float(deblur._from_model_batch(small, outputs, run_channels), dtype)
    assert result.shape == image.shape and result.dtype == dtype
    assert np.abs(result[..., :run_channels].astype(int) - expected.astype(int)).max() <= 1
    np.testing.assert_array_equal(result[..., run_channels:], image[..., run_channels:])


def test_a_tiled_rgba_16_bit_image_keeps_its_alpha_and_depth(model):
    rgb = _blurred_photo(96, 160).astype(np.uint16) * 257
    alpha = np.random.default_rng(1).integers(0, 65536, (96, 160, 1)).astype(np.uint16)
    image = np.concatenate([rgb, alpha], axis=-1)
    result = srn_tf.deblur_image(model, image, tile=64)
    assert result.dtype == np.uint16 and result.shape == image.shape
    np.testing.assert_array_equal(result[..., 3:], alpha)
    whole = srn_tf.deblur_image(model, image)
    assert srn_tf.psnr(result[..., :3], whole[..., :3], data_range=65535) > 35.0


def test_the_streamed_plan_holds_no_whole_image_float32_array(monkeypatch):
    """tracemalloc's peak of a 1200x1600 RGB uint8 image through every step with
    bounded parts made small: below the input, the output and the uint16 network
    copy (12 bytes a pixel) plus 40 MB, where one float32 copy of the image alone
    is 12 bytes a pixel and the whole-image plan about 240."""
    for name, value in (("POSTPROCESS_TILE", 256), ("REFINE_CROP", 384),
                        ("NOISE_PIXELS", 250_000), ("AGREEMENT_PIXELS", 250_000)):
        monkeypatch.setattr(streamed, name, value)
    height, width = 1200, 1600
    image = cv2.resize(data.astronaut(), (width, height))

    def network(planes):
        return planes * np.float32(0.9) + np.float32(0.05)

    tracemalloc.start()
    try:
        result = streamed.deblur_streamed(image, network, 3, 16, QUALITY_MODES["standard"],
                                          256, 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.shape == image.shape
    pixels = height * width
    assert peak < 9 * pixels + 40_000_000, peak / pixels  # the input was allocated before


def test_the_plan_grows_only_by_the_stated_bytes_a_pixel():
    small = memory_plan.plan(4000, 3000, 3, 1, 1408)
    large = memory_plan.plan(12000, 9000, 3, 1, 1408)
    assert small.streamed and large.streamed
    # Input and output (3 + 3), their decoding (3) and the uint16 network copy (6).
    per_pixel = (large.peak_bytes - small.peak_bytes) / (12000 * 9000 - 4000 * 3000)
    assert per_pixel == pytest.approx(15.0)
    whole = memory_plan.plan(4000, 3000, 3, 1, None)
    assert not whole.streamed and whole.peak_bytes > small.peak_bytes


def test_a_photo_that_cannot_fit_is_refused_in_one_line_before_decoding(model, tmp_path):
    path = tmp_path / "big.png"
    image_io.write_image(path, np.zeros((64, 96, 3), np.uint8))
    with pytest.raises(MemoryError) as info:
        per_file.check_memory(str(path), model, tile=0, available=100_000_000)
    message = str(info.value)
    assert message.startswith(f"{path}: a 96 x 64 photo needs about 0.4 GB with the "
                              "whole-image plan, 0.1 GB are free") and "\n" not in message
    per_file.check_memory(str(path), model, available=10**12)  # fits: no error


def test_deblur_files_reports_the_refusal_and_goes_on(model, monkeypatch, tmp_path):
    image_io.write_image(tmp_path / "a.png", _blurred_photo(32, 48))
    monkeypatch.setattr(memory_plan, "available_bytes", lambda: 1)
    monkeypatch.setattr(memory_plan, "_own_status_bytes", lambda field: 1)
    summary = deblur_files(str(tmp_path / "a.png"), str(tmp_path / "out"), checkpoint=model,
                           progress=False)
    assert not summary.done and len(summary.failed) == 1
    reason = summary.failed[0][1]
    assert reason.startswith(f"{tmp_path / 'a.png'}: a 48 x 32 photo needs about ")
    assert "GB are free" in reason and "\n" not in reason and "out of memory" not in reason
    assert not (tmp_path / "out" / "a.png").exists()


@pytest.mark.slow
def test_srn_deblur_keeps_a_25_megapixel_photo_under_3_gb(tmp_path):
    """A 100 MP phone photo at a quarter of its size: srn-deblur with no flags on a 5760 x
    4320 JPEG (automatic tiles, streamed plan) peaked at 1.98 GB on the 2-core Xeon
    (docs/tiling.md); the whole-image plan would need about 15 GB. 3 GB leaves room
    for another machine's allocator and TensorFlow build."""
    from tests.peak_memory_support import peak_rss_of_run, write_photo

    photo = str(tmp_path / "photo.jpg")
    height, width = write_photo(photo, 25)
    peak, _, status = peak_rss_of_run(photo, str(tmp_path / "out"), [])
    assert status == 0
    written = image_io.read_image(str(tmp_path / "out" / "photo.jpg"))
    assert written.shape == (height, width, 3)
    assert peak < 3e9, peak


def test_a_bomb_header_gets_the_pixel_limit_reason_not_a_memory_one(model, tmp_path):
    """A 69-byte PNG claiming 60000 x 60000: the memory check reads the same header, so
    it must give the pixel limit's reason (and its flag) first, as decoding would."""
    import struct
    import zlib

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="--max_megapixels") as info:
        per_file.check_memory(str(path), model, available=1)
    assert str(info.value).startswith(str(path))


def test_an_address_space_limit_counts_as_memory_not_free(monkeypatch):
    """Under `ulimit -v` the room left is the limit less what the process has mapped."""
    mapped = memory_plan._own_status_bytes("VmSize")
    assert mapped > 0
    limit = mapped + 123_000_000
    monkeypatch.setattr(memory_plan.resource, "getrlimit", lambda kind: (limit, limit))
    room = memory_plan.available_bytes()
    # The process maps a little more between the two readings: within 50 MB.
    assert 73_000_000 < room <= 123_000_000, room
