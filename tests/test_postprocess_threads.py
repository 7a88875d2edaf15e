"""The post-processing's independent pieces run at once (`postprocess.threads`) and
compute what they compute in turn, bit for bit."""

import os
import signal
import threading
import time

import numpy as np
import pytest
import skimage.data

from srn_tf.inference.postprocess import (denoising, kernel_agreement, kernel_refinement, noise,
                                          threads)
from srn_tf.inference.postprocess.blur_kernels import reblur


@pytest.fixture(scope="module")
def pair():
    """(blurred, deblurred): (192, 256, 3) float32 in [0, 1], a crop of scikit-image's
    coffee photograph shaken by a 9-pixel line plus noise of 0.01, and the sharp crop
    with smooth errors standing in for a network's output."""
    sharp = skimage.data.coffee()[60:252, 160:416].astype(np.float32) / 255
    kernel = np.zeros((65, 65), np.float32)
    kernel[32, 28:37] = 1 / 9
    rng = np.random.default_rng(36)
    blurred = np.clip(reblur(sharp, kernel) + rng.normal(0, 0.01, sharp.shape), 0, 1)
    deblurred = sharp + 0.02 * rng.normal(0, 1, sharp.shape)
    return blurred.astype(np.float32), deblurred.astype(np.float32)


def _with_cpus(monkeypatch, cpus):
    monkeypatch.setattr(threads, "usable_cpus", lambda: cpus)


def test_map_in_threads_runs_the_pieces_at_once_and_keeps_their_order(monkeypatch):
    _with_cpus(monkeypatch, 2)
    # Each call waits for the other: in turn, the first call's wait times out.
    both_running = threading.Barrier(2, timeout=10)

    def piece(item):
        both_running.wait()
        return item, threading.get_ident()

    results = threads.map_in_threads(piece, [3, 5])
    assert [item for item, _ in results] == [3, 5]
    assert len({thread for _, thread in results}) == 2


def test_map_in_threads_calls_in_turn_on_one_cpu(monkeypatch):
    _with_cpus(monkeypatch, 1)
    caller = threading.get_ident()
    assert threads.map_in_threads(lambda item: (item, threading.get_ident()), [1, 2]) == [
        (1, caller), (2, caller)]


def test_kinds_of_blur_are_refined_at_once(monkeypatch, pair):
    _with_cpus(monkeypatch, 2)
    both_running = threading.Barrier(2, timeout=60)
    refine_in = kernel_refinement._refine_in

    def refine_in_waiting(*args):
        both_running.wait()
        return refine_in(*args)

    monkeypatch.setattr(kernel_refinement, "_refine_in", refine_in_waiting)
    kernel_refinement.refine_with_one_kernel(*pair)


@pytest.mark.parametrize("step", ["refine_with_kernel", "refine_with_one_kernel", "denoise_output",
                                  "noise_level", "refinement_share"])
def test_threads_compute_what_the_steps_compute_in_turn(monkeypatch, pair, step):
    blurred, deblurred = pair
    run = {
        "refine_with_kernel": lambda: kernel_refinement.refine_with_kernel(blurred, deblurred),
        "refine_with_one_kernel": lambda: kernel_refinement.refine_with_one_kernel(blurred,
                                                                                   deblurred),
        "denoise_output": lambda: denoising.denoise_output(blurred, deblurred),
        "noise_level": lambda: noise.noise_level(blurred),
        "refinement_share": lambda: kernel_agreement.refinement_share(blurred, deblurred),
    }[step]
    _with_cpus(monkeypatch, 1)
    in_turn = run()
    _with_cpus(monkeypatch, 2)
    np.testing.assert_array_equal(run(), in_turn)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_a_forked_child_gets_its_own_threads(monkeypatch):
    # The parent's pool is made and idle; a child forked now has none of its threads.
    _with_cpus(monkeypatch, 2)
    assert threads.map_in_threads(abs, [-1, -2]) == [1, 2]
    child = os.fork()
    if child == 0:
        try:
            os._exit(0 if threads.map_in_threads(abs, [-3, -4]) == [3, 4] else 1)
        finally:
            os._exit(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    pytest.fail("the forked child's map_in_threads did not finish in 30 s")
