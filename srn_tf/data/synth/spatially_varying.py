"""Blur that varies across the image, rendered as bursts averaged in linear light.

Real photographs are rarely blurred alike everywhere: an object moves on its own,
the camera rolls, nearer things move further. Three kinds, each a burst of
`frames` warped frames averaged in linear light as `render.blur_along_path`
averages them, the middle frame's pose the identity, so the sharp image of a pair
is that middle frame, pixel-aligned with the blurred one:

- "object_motion": a soft-edged random blob of the photograph (the object) moves
  along its own smooth arc (`trajectory.camera_path`) while the camera shakes
  (`trajectory.random_shaky_path`, a shorter path); each frame composites the moved
  object over the shaken background with the moved soft matte. What the object
  uncovers is the photograph inpainted under the object (`cv2.inpaint`), so the
  object leaves no sharp copy of itself behind.
- "camera_roll": the camera rolls about a point drawn anywhere in a box twice
  the frame's size around the frame, often outside it: blur grows with the
  distance from that point, from none at it.
- "depth_varying": the camera translates along a smooth arc, and each pixel moves
  by that path times its inverse depth, a smooth random field (a few long cosine
  waves) between 0.1-0.5 and 1, rendered per frame with `cv2.remap`.

`strength` is the longest pixel path over the burst, in pixels (srn-synth's path
lengths are 5 to 30): the paths are drawn at unit scale, then scaled so the
largest value of the blur's displacement map (each pixel's path length,
`displacement_map`) is exactly `strength`. Near-white pixels can be brightened
above white before averaging (`render.boost_highlights`) and the average clips at
white afterwards, as a sensor saturates; the blurred image gets Gaussian noise and
optional JPEG compression (`render.compress_jpeg`); the sharp image is the middle
frame clipped and encoded, without noise or JPEG. Images are uint8 (height, width,
3). The same generator state gives the same pair.
"""

import dataclasses
from typing import Optional

import cv2
import numpy as np

from srn_tf.data.synth import render, trajectory

SPATIAL_KINDS = ("object_motion", "camera_roll", "depth_varying")
# The object: a blob whose mean radius is this share of the shorter side, its
# outline an ellipse (axes ratio 0.5 to 1) wobbled by three harmonics, its matte
# rising from 0 to 1 across `MATTE_EDGE_PIXELS`.
OBJECT_RADIUS_RANGE = (0.15, 0.3)
MATTE_EDGE_PIXELS = 2.0
# The shaken background's path, as a share of the object's own path.
BACKGROUND_SHARE_RANGE = (0.05, 0.4)
# The nearest point has inverse depth 1, the farthest one in this range.
FARTHEST_INVERSE_DEPTH_RANGE = (0.1, 0.5)
# Largest change of direction of the object's and the translating camera's arcs.
MAX_TURN_DEGREES = 90.0


@dataclasses.dataclass(frozen=True, eq=False)
class SpatialBlur:
    """One drawn spatially varying blur for images of one size.

    Attributes:
        kind: one of `SPATIAL_KINDS`.
        poses: float64 (frames, 3) camera poses (dx, dy, angle) as
            `render.pose_matrix` takes them, the middle row (0, 0, 0); for
            "depth_varying" the translation of a pixel of inverse depth 1.
        center: (x, y) the camera rotates about, in pixels.
        displacement: float32 (height, width): each pixel's path length over the
            burst, in pixels, for what the pixel shows in the middle frame; its
            maximum is the strength.
        matte: float32 (height, width) in [0, 1], the object at the middle frame
            ("object_motion"; None otherwise).
        object_poses: float64 (frames, 3), the object layer's poses: the camera's
            plus the object's own path ("object_motion"; None otherwise).
        inverse_depth: float32 (height, width) in (0, 1] ("depth_varying"; None
            otherwise).
    """

    kind: str
    poses: np.ndarray
    center: tuple
    displacement: np.ndarray
    matte: Optional[np.ndarray] = None
    object_poses: Optional[np.ndarray] = None
    inverse_depth: Optional[np.ndarray] = None


def _check_blur_arguments(shape, kind, strength, frames):
    if kind not in SPATIAL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SPATIAL_KINDS)}. Received: kind={kind!r}")
    if not strength >= 0:
        raise ValueError(f"strength must be >= 0 pixels. Received: strength={strength}")
    if frames < 1 or frames % 2 == 0:
        raise ValueError("frames must be odd and positive (the middle frame is the sharp "
                         f"image). Received: frames={frames}")
    if len(shape) < 2 or min(shape[:2]) < 2:
        raise ValueError(f"images must be at least 2x2 pixels. Received: shape={tuple(shape)}")


def path_length(points):
    """Length of the polyline through `points` (num_points, 2), in their units."""
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def _scale_to(poses_list, lengths, strength):
    """Scales the shifts of every pose array in place so the longest length becomes `strength`.

    Returns the factor (0 when every length is 0: a one-frame burst has no motion).
    """
    longest = max(lengths)
    factor = strength / longest if longest > 0 else 0.0
    for poses in poses_list:
        poses[:, :2] *= factor
    return factor


def _pixel_grid(height, width):
    """float32 (height, width) x and y coordinates of every pixel."""
    return np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))


def random_blob(height, width, rng):
    """A soft matte of a random blob inside the frame: float32 (height, width) in [0, 1].

    Exactly 1 inside, exactly 0 outside, a `MATTE_EDGE_PIXELS` ramp between.
    """
    radius = rng.uniform(*OBJECT_RADIUS_RANGE) * min(height, width)
    aspect = rng.uniform(0.5, 1.0)
    angle = rng.uniform(0.0, np.pi)
    amplitudes = rng.uniform(0.0, 0.08, 3)
    phases = rng.uniform(0.0, 2.0 * np.pi, 3)
    center_x = rng.uniform(radius, width - 1 - radius) if width - 1 > 2 * radius else width / 2
    center_y = rng.uniform(radius, height - 1 - radius) if height - 1 > 2 * radius else height / 2
    xs, ys = _pixel_grid(height, width)
    dx, dy = xs - center_x, ys - center_y
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    distance = np.hypot(along, across)
    heading = np.arctan2(across, along)
    outline = radius * (1.0 + sum(amplitude * np.cos(order * heading + phase) for order, (
        amplitude, phase) in enumerate(zip(amplitudes, phases), start=2)))
    return np.clip((outline - distance) / MATTE_EDGE_PIXELS + 0.5, 0.0, 1.0).astype(np.float32)


def smooth_inverse_depth(height, width, rng):
    """A smooth random inverse-depth field, float32 (height, width), from a drawn minimum to 1.

    Four cosine waves of any direction and phase, wavelengths 0.7 to 2 times the
    image diagonal, random amplitudes, summed and rescaled so the farthest pixel
    has inverse depth drawn from `FARTHEST_INVERSE_DEPTH_RANGE` and the nearest 1.
    """
    xs, ys = _pixel_grid(height, width)
    diagonal = np.hypot(height, width)
    field = np.zeros((height, width), np.float64)
    for _ in range(4):
        direction = rng.uniform(0.0, 2.0 * np.pi)
        frequency = 2.0 * np.pi / (rng.uniform(0.7, 2.0) * diagonal)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        field += rng.uniform(0.2, 1.0) * np.cos(
            frequency * (xs * np.cos(direction) + ys * np.sin(direction)) + phase)
    farthest = rng.uniform(*FARTHEST_INVERSE_DEPTH_RANGE)
    spread = field.max() - field.min()
    unit = (field - field.min()) / spread if spread > 0 else np.ones_like(field)
    return (farthest + (1.0 - farthest) * unit).astype(np.float32)


def _unit_path_parameters(frames):
    """Paths of length 1 without rotation, scaled to the strength afterwards."""
    return trajectory.PathParameters(frames_per_burst=frames, min_length=1.0, max_length=1.0,
                                     max_turn_degrees=MAX_TURN_DEGREES, max_rotation_degrees=0.0)


def _draw_object_motion(height, width, rng, strength, frames):
    camera, _ = trajectory.random_shaky_path(rng, _unit_path_parameters(frames))
    camera[:, :2] *= rng.uniform(*BACKGROUND_SHARE_RANGE)
    own = trajectory.camera_path(1.0, rng.uniform(0.0, 2.0 * np.pi),
                                 np.deg2rad(MAX_TURN_DEGREES) * rng.uniform(-1.0, 1.0),
                                 num_frames=frames)
    object_poses = camera + own
    matte = random_blob(height, width, rng)
    lengths = (path_length(object_poses[:, :2]), path_length(camera[:, :2]))
    factor = _scale_to((camera, object_poses), lengths, strength)
    displacement = factor * (matte * lengths[0] + (1.0 - matte) * lengths[1])
    center = ((width - 1) / 2.0, (height - 1) / 2.0)
    return SpatialBlur("object_motion", camera, center, displacement.astype(np.float32),
                       matte=matte, object_poses=object_poses)


def _draw_camera_roll(height, width, rng, strength, frames):
    center = (rng.uniform(-0.5, 1.5) * (width - 1), rng.uniform(-0.5, 1.5) * (height - 1))
    xs, ys = _pixel_grid(height, width)
    radius = np.hypot(xs - center[0], ys - center[1])
    steps = frames - 1
    # Each step turns a pixel at distance r through a chord of 2 r sin(step / 2).
    step = (2.0 * np.arcsin(min(1.0, strength / (2.0 * radius.max() * steps)))
            if steps else 0.0)
    poses = trajectory.camera_path(0.0, 0.0, rotation=rng.choice([-1.0, 1.0]) * step * steps,
                                   num_frames=frames)
    displacement = steps * 2.0 * radius * np.sin(step / 2.0)
    return SpatialBlur("camera_roll", poses, center, displacement.astype(np.float32))


def _draw_depth_varying(height, width, rng, strength, frames):
    poses, _ = trajectory.random_camera_path(rng, _unit_path_parameters(frames))
    inverse_depth = smooth_inverse_depth(height, width, rng)
    _scale_to((poses,), (path_length(poses[:, :2]),), strength)
    displacement = inverse_depth * path_length(poses[:, :2])
    center = ((width - 1) / 2.0, (height - 1) / 2.0)
    return SpatialBlur("depth_varying", poses, center, displacement.astype(np.float32),
                       inverse_depth=inverse_depth)


_DRAW = {"object_motion": _draw_object_motion, "camera_roll": _draw_camera_roll,
         "depth_varying": _draw_depth_varying}


def draw_spatial_blur(shape, kind, rng, strength, frames=15):
    """Draws the motion of one spatially varying blur.

    `render_spatially_varying` draws with this first, so the same generator state
    given to both describes the blur of the rendered pair.

    Args:
        shape: (height, width, ...) of the image.
        kind: one of `SPATIAL_KINDS`.
        rng: a `numpy.random.Generator`.
        strength: the longest pixel path over the burst, pixels (>= 0).
        frames: odd number of frames in the burst.

    Returns:
        a `SpatialBlur`.
    """
    _check_blur_arguments(shape, kind, strength, frames)
    return _DRAW[kind](int(shape[0]), int(shape[1]), rng, float(strength), int(frames))


def displacement_map(shape, kind, rng, strength, frames=15):
    """Each pixel's blur extent: float32 (height, width), its path length in pixels.

    The same as `draw_spatial_blur(...).displacement`, so a generator in the state
    that `render_spatially_varying` receives gives the map of that pair.
    """
    return draw_spatial_blur(shape, kind, rng, strength, frames).displacement


def _background_under_object(image, matte):
    """The photograph with the object's inside inpainted: uint8 (height, width, 3).

    Only where the matte is 1 does the background differ from `image`, so the
    middle frame's composite is `image` exactly; the inpainting reads the pixels
    around the blob's soft edge.
    """
    inside = (matte > 0).astype(np.uint8)
    around = cv2.dilate(inside, np.ones((3, 3), np.uint8),
                        iterations=int(np.ceil(MATTE_EDGE_PIXELS)) + 1)
    filled = cv2.inpaint(image, around, 5, cv2.INPAINT_TELEA)
    return np.where((matte == 1.0)[..., None], filled, image)


def _burst(blur, image, to_linear):
    """Yields the burst's frames, float32 (height, width, 3) in linear light, in order."""
    linear = to_linear(image)
    if blur.kind == "camera_roll":
        for pose in blur.poses:
            yield render.warp_frame(linear, pose, center=blur.center)
    elif blur.kind == "object_motion":
        background = to_linear(_background_under_object(image, blur.matte))
        matte = blur.matte[..., None]
        for camera_pose, object_pose in zip(blur.poses, blur.object_poses):
            behind = render.warp_frame(background, camera_pose)
            moved = render.warp_frame(linear, object_pose)
            alpha = render.warp_frame(matte, object_pose, border_mode=cv2.BORDER_CONSTANT)
            yield behind + alpha * (moved - behind)
    else:
        xs, ys = _pixel_grid(*image.shape[:2])
        for dx, dy, _ in blur.poses:
            yield cv2.remap(linear, xs + blur.inverse_depth * np.float32(dx),
                            ys + blur.inverse_depth * np.float32(dy), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT).reshape(linear.shape)


def render_spatially_varying(image, kind, rng, strength, response=render.CameraResponse("gamma"),
                             noise_sigma=0.01, frames=15, highlight_gain=0.0, jpeg_quality=None):
    """A blurred/sharp pair with blur that varies across the image.

    Args:
        image: uint8 (height, width, 3) sharp photograph.
        kind: one of `SPATIAL_KINDS` (see the module doc).
        rng: a `numpy.random.Generator`: the motion is drawn first
            (`draw_spatial_blur`), then the noise.
        strength: the longest pixel path over the burst, pixels (>= 0).
        response: the `render.CameraResponse` undone before averaging.
        noise_sigma: Gaussian noise on the blurred image, [0, 1] units.
        frames: odd number of frames averaged.
        highlight_gain: brightening of near-white pixels before averaging
            (`render.boost_highlights`), clipped after; 0 for none.
        jpeg_quality: JPEG quality (1 to 100) the blurred image is compressed
            with, or None for none.

    Returns:
        (blurred, sharp), uint8 (height, width, 3) each: the noisy, optionally
        JPEG-compressed average of the burst, and its middle frame (equal to
        `image` when highlight_gain is 0).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("image must be uint8 (height, width, 3). "
                         f"Received: dtype={image.dtype}, shape={image.shape}")
    if not noise_sigma >= 0 or not highlight_gain >= 0:
        raise ValueError("need noise_sigma >= 0 and highlight_gain >= 0. Received: "
                         f"noise_sigma={noise_sigma}, highlight_gain={highlight_gain}")
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be None or in [1, 100]. "
                         f"Received: jpeg_quality={jpeg_quality}")
    blur = draw_spatial_blur(image.shape, kind, rng, strength, frames)

    def to_linear(pixels):
        return render.boost_highlights(response.to_linear(pixels.astype(np.float32) / 255.0),
                                       highlight_gain)

    total = None
    for index, frame in enumerate(_burst(blur, image, to_linear)):
        total = frame.copy() if total is None else total + frame
        if index == frames // 2:
            middle = frame
    blurred = render.encode(response.from_linear(total / np.float32(frames)), rng, noise_sigma)
    if jpeg_quality is not None:
        blurred = render.compress_jpeg(blurred, jpeg_quality)
    sharp = render.encode(response.from_linear(middle), rng, 0.0)
    return blurred, sharp
