"""The random-walk shake paths the unseen-shake benchmarks blur with: centred, as long as
asked, and seeded."""

import numpy as np

from srn_tf.data.synth.trajectory import SHAKE_FRAMES, random_walk, shake_poses


def test_paths_are_centred_on_the_middle_frame_with_the_requested_length():
    # The sharp photograph is aligned with the middle frame, so that frame must be
    # the identity; the length is the sum of the frame-to-frame steps (float64,
    # so 1e-9 pixels is rounding).
    poses = shake_poses(np.random.default_rng(3), 17.5)
    assert poses.shape == (SHAKE_FRAMES, 3)
    np.testing.assert_array_equal(poses[SHAKE_FRAMES // 2], [0.0, 0.0, 0.0])
    steps = np.hypot(*np.diff(poses[:, :2], axis=0).T)
    assert abs(steps.sum() - 17.5) < 1e-9
    np.testing.assert_array_equal(poses[:, 2], 0.0)


def test_the_walk_moves_at_constant_speed_and_a_seed_repeats_it():
    walk = random_walk(np.random.default_rng(5), steps=200)
    np.testing.assert_allclose(np.abs(np.diff(walk)), 1.0 / 199, rtol=1e-9)
    np.testing.assert_array_equal(walk, random_walk(np.random.default_rng(5), steps=200))
    assert not np.array_equal(walk, random_walk(np.random.default_rng(6), steps=200))
