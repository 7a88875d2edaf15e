"""Random camera paths for a burst of frames, centred on the middle frame.

A path is an arc of constant speed: it heads in direction `heading` at the middle
frame, turns steadily through `turn` radians over its `length` pixels, and the
image rotates steadily through `rotation` radians meanwhile. The poses are sampled at
`num_frames` equally spaced times and shifted so that the middle frame's pose is
exactly the identity: the middle frame is the sharp image, as in GOPRO, where the
sharp frame of a pair is the middle one of the averaged burst.

`random_shaky_path` draws the other kind: hand shake, a walk whose direction and
speed change from frame to frame (in the spirit of Boracchi and Foi's random
trajectories), so the blur kernel is jagged and uneven in brightness rather than
a smooth arc.

`shake_poses` draws a third kind, which no srn-synth data set uses, so that the
benchmarks and tests can blur with shake no trained stage has seen: Boracchi and
Foi's random walk itself ("Modeling the performance of image restoration from
motion blur", IEEE TIP 2012), with inertia, a pull back towards its start and
occasional jerks, no rotation.
"""

import dataclasses

import numpy as np

# Steps of the walk `shake_poses` resamples, and the frames it resamples it to.
SHAKE_WALK_STEPS = 2000
SHAKE_FRAMES = 31


@dataclasses.dataclass(frozen=True)
class PathParameters:
    """The ranges random camera paths are drawn from.

    Attributes:
        frames_per_burst: frames averaged into one blurred image (odd, so that one
            of them is the middle frame). GOPRO averaged 7 to 13 frames of a 240 fps
            video; more frames give smoother blur for long paths.
        min_length, max_length: range of the path's length in pixels (uniform).
        max_turn_degrees: largest change of direction along the path (its
            curvature); 0 gives straight paths.
        max_rotation_degrees: largest in-plane camera rotation over the burst,
            about the image centre.
    """

    frames_per_burst: int = 15
    min_length: float = 5.0
    max_length: float = 30.0
    max_turn_degrees: float = 90.0
    max_rotation_degrees: float = 1.0

    def __post_init__(self):
        if self.frames_per_burst < 1 or self.frames_per_burst % 2 == 0:
            raise ValueError("frames_per_burst must be odd and positive (the middle frame is the "
                             "sharp image). "
                             f"Received: frames_per_burst={self.frames_per_burst}")
        if not 0 <= self.min_length <= self.max_length:
            raise ValueError("need 0 <= min_length <= max_length. Received: "
                             f"min_length={self.min_length}, max_length={self.max_length}")
        if self.max_turn_degrees < 0 or self.max_rotation_degrees < 0:
            raise ValueError("max_turn_degrees and max_rotation_degrees must be >= 0. Received: "
                             f"max_turn_degrees={self.max_turn_degrees}, "
                             f"max_rotation_degrees={self.max_rotation_degrees}")


def camera_path(length, heading, turn=0.0, rotation=0.0, num_frames=15):
    """Poses of a burst along an arc, the middle one the identity.

    Args:
        length: arc length of the path in pixels.
        heading: direction of travel at the middle frame, radians (0 = +x).
        turn: total change of direction along the path, radians.
        rotation: total in-plane rotation of the image over the burst, radians.
        num_frames: odd number of frames.

    Returns:
        float64 array (num_frames, 3): per frame the shift (dx, dy) in pixels and
        the rotation angle in radians; row num_frames // 2 is exactly (0, 0, 0).
    """
    if num_frames < 1 or num_frames % 2 == 0:
        raise ValueError(f"num_frames must be odd and positive. Received: num_frames={num_frames}")
    # Times centred on the middle frame: -1/2 .. 1/2, exactly 0 in the middle.
    times = (np.arange(num_frames) - num_frames // 2) / max(num_frames - 1, 1)
    directions = heading + turn * times
    if abs(turn) < 1e-9:
        dx = length * times * np.cos(heading)
        dy = length * times * np.sin(heading)
    else:
        # Integral of length * (cos, sin)(heading + turn * t) dt from 0 to t.
        dx = length * (np.sin(directions) - np.sin(heading)) / turn
        dy = -length * (np.cos(directions) - np.cos(heading)) / turn
    return np.stack([dx, dy, rotation * times], axis=1)


def random_camera_path(rng, parameters):
    """Draws a path: length uniform in [min_length, max_length], any heading, the
    turn and the rotation uniform in [-max, max] degrees.

    Args:
        rng: a `numpy.random.Generator`.
        parameters: a `PathParameters`.

    Returns:
        (poses, length): poses as `camera_path` returns them, length in pixels.
    """
    length = rng.uniform(parameters.min_length, parameters.max_length)
    heading = rng.uniform(0.0, 2.0 * np.pi)
    turn = np.deg2rad(parameters.max_turn_degrees) * rng.uniform(-1.0, 1.0)
    rotation = np.deg2rad(parameters.max_rotation_degrees) * rng.uniform(-1.0, 1.0)
    poses = camera_path(length, heading, turn, rotation, parameters.frames_per_burst)
    return poses, length


def random_shaky_path(rng, parameters):
    """Draws a hand-shake path: a walk of `frames_per_burst - 1` steps.

    The direction of travel is a random walk (Gaussian turns whose spread makes
    the expected total turn about `max_turn_degrees`), each step's speed is drawn
    from a gamma distribution (shape 2: slow stretches leave bright spots in the
    kernel, fast ones faint streaks), and the steps are scaled so the path is
    `length` pixels long, length uniform in [min_length, max_length]. The image
    rotation walks the same way, scaled to at most `max_rotation_degrees`.

    Args:
        rng: a `numpy.random.Generator`.
        parameters: a `PathParameters`.

    Returns:
        (poses, length): float64 poses (frames_per_burst, 3) as `camera_path`
        returns them (the middle row exactly (0, 0, 0)), length in pixels.
    """
    num_frames = parameters.frames_per_burst
    length = rng.uniform(parameters.min_length, parameters.max_length)
    poses = np.zeros((num_frames, 3))
    num_steps = num_frames - 1
    if num_steps:
        turn_spread = np.deg2rad(parameters.max_turn_degrees) / np.sqrt(num_steps)
        directions = rng.uniform(0.0, 2.0 * np.pi) + np.cumsum(
            rng.normal(0.0, turn_spread, num_steps))
        speeds = rng.gamma(2.0, 1.0, num_steps)
        speeds *= length / speeds.sum()
        steps = np.stack([speeds * np.cos(directions), speeds * np.sin(directions)], axis=1)
        poses[1:, :2] = np.cumsum(steps, axis=0)
        wobble = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 1.0, num_steps))])
        wobble -= wobble[num_frames // 2]
        largest = np.abs(wobble).max()
        if largest > 0:
            poses[:, 2] = (wobble / largest * np.deg2rad(parameters.max_rotation_degrees)
                           * rng.uniform(0.0, 1.0))
        poses[:, :2] -= poses[num_frames // 2, :2]
    return poses, length


def random_walk(rng, steps=SHAKE_WALK_STEPS):
    """(steps,) complex positions of a shaking camera, unit speed per step of 1/(steps-1).

    The velocity keeps its direction (inertia) but is nudged each step by Gaussian
    shake and a pull back towards the start; with a small probability it jerks
    round by about half a turn (Boracchi and Foi's model).
    """
    anxiety = 0.005 * rng.random()
    pull = 0.7 * rng.random()
    jerk_probability = 0.2 * rng.random()
    shake = 10.0 * rng.random()
    speed = 1.0 / (steps - 1)
    velocity = speed * np.exp(2j * np.pi * rng.random())
    positions = np.zeros(steps, complex)
    for t in range(steps - 1):
        jerk = 0.0
        if rng.random() < jerk_probability * anxiety:
            jerk = 2 * velocity * np.exp(1j * (np.pi + rng.random() - 0.5))
        nudge = shake * complex(rng.normal(), rng.normal()) - pull * positions[t]
        velocity = velocity + jerk + anxiety * nudge * speed
        velocity = speed * velocity / abs(velocity)
        positions[t + 1] = positions[t] + velocity
    return positions


def shake_poses(rng, length):
    """(SHAKE_FRAMES, 3) float64 poses (dx, dy, angle 0) along a `random_walk` of
    `length` pixels, as `camera_path` returns them.

    The middle frame is the identity, so the sharp image is aligned with it.
    """
    walk = random_walk(rng)
    frames = walk[np.linspace(0, len(walk) - 1, SHAKE_FRAMES).round().astype(int)]
    frames = (frames - frames[SHAKE_FRAMES // 2]) * length / np.sum(np.abs(np.diff(frames)))
    return np.stack([frames.real, frames.imag, np.zeros(SHAKE_FRAMES)], axis=1)
