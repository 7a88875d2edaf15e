"""Blurred images made the way GOPRO was made: frames averaged in linear light.

GOPRO's blurred images are averages of 7-13 consecutive sharp frames of a 240 fps
video, averaged after undoing the camera response (a gamma of 2.2) and then
re-encoded. Here the frames are the sharp image warped along a camera path
(`trajectory.camera_path`), each rendered with `cv2.warpAffine` (bilinear,
reflected borders) in float32 linear light; a little Gaussian sensor noise is
added to the re-encoded result. Images are uint8 (height, width, channels) arrays.
"""

import dataclasses

import cv2
import numpy as np

RESPONSES = ("gamma", "srgb", "linear")


@dataclasses.dataclass(frozen=True)
class CameraResponse:
    """How 8-bit values relate to light: `x ** gamma`, the sRGB curve, or linear."""

    kind: str = "gamma"
    gamma: float = 2.2

    def __post_init__(self):
        if self.kind not in RESPONSES:
            raise ValueError(f"camera response must be one of {', '.join(RESPONSES)}. "
                             f"Received: {self.kind!r}")
        if self.gamma <= 0:
            raise ValueError(f"gamma must be positive. Received: gamma={self.gamma}")

    def to_linear(self, values):
        """Encoded values in [0, 1] -> linear light in [0, 1] (float32)."""
        values = np.clip(values, 0.0, 1.0).astype(np.float32)
        if self.kind == "gamma":
            return values ** np.float32(self.gamma)
        if self.kind == "srgb":
            return np.where(values <= 0.04045, values / 12.92,
                            ((values + 0.055) / 1.055) ** 2.4).astype(np.float32)
        return values

    def from_linear(self, values):
        """Linear light in [0, 1] -> encoded values in [0, 1] (float32)."""
        values = np.clip(values, 0.0, 1.0).astype(np.float32)
        if self.kind == "gamma":
            return values ** np.float32(1.0 / self.gamma)
        if self.kind == "srgb":
            return np.where(values <= 0.0031308, values * 12.92,
                            1.055 * values ** (1 / 2.4) - 0.055).astype(np.float32)
        return values


def pose_matrix(pose, center, offset=(0.0, 0.0)):
    """The 2x3 map from output pixels to source pixels for one frame's pose.

    Output pixel x samples the source at R(angle) (x - center) + center + shift +
    offset, so the identity pose with an integer `offset` copies a crop exactly.

    Args:
        pose: (dx, dy, angle in radians).
        center: (x, y) the image rotates about, in output pixels.
        offset: (x, y) of the output's top-left corner in the source.
    """
    dx, dy, angle = pose
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    center = np.asarray(center, dtype=np.float64)
    translation = center + np.array([dx, dy]) + np.asarray(offset) - rotation @ center
    return np.concatenate([rotation, translation[:, None]], axis=1)


def render_frames(linear_image, poses, output_size=None, offset=(0, 0)):
    """Warps a linear-light image to every pose of a burst.

    Args:
        linear_image: float32 (height, width, channels) in linear light.
        poses: (num_frames, 3) as `trajectory.camera_path` returns.
        output_size: (height, width) of the frames; the whole image by default.
        offset: (x, y) of the frames' top-left corner in `linear_image`.

    Returns:
        float32 (num_frames, out_height, out_width, channels).
    """
    height, width = output_size or linear_image.shape[:2]
    center = ((width - 1) / 2.0, (height - 1) / 2.0)
    frames = []
    for pose in poses:
        frame = cv2.warpAffine(linear_image, pose_matrix(pose, center, offset), (width, height),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        frames.append(frame.reshape(height, width, -1))
    return np.stack(frames)


def linear_motion_kernel(length, heading):
    """A straight motion-blur kernel: a centred line of `length` pixels, sum 1.

    The line is sampled four times per pixel and each sample split bilinearly
    between its four nearest taps, so short and oblique lines stay smooth. The
    kernel is point-symmetric about its centre, so the blur does not shift the image.

    Returns:
        float32 (size, size), size odd.
    """
    radius = int(np.ceil(length / 2.0)) + 1
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float64)
    positions = np.linspace(-length / 2.0, length / 2.0, max(2, int(np.ceil(4 * length)) + 1))
    for x, y in zip(radius + positions * np.cos(heading), radius + positions * np.sin(heading)):
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return (kernel / kernel.sum()).astype(np.float32)


def encode(values, rng, noise_sigma):
    """Encoded float values in [0, 1] plus Gaussian noise -> rounded uint8."""
    if noise_sigma > 0:
        values = values + rng.normal(0.0, noise_sigma, values.shape).astype(np.float32)
    return np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def blur_along_path(image, poses, response, rng, noise_sigma, output_size=None, offset=(0, 0)):
    """The GOPRO recipe: warp along the path, average in linear light, re-encode, add noise.

    Args:
        image: uint8 (height, width, channels) sharp image.
        poses: (num_frames, 3) camera poses, the middle one the identity.
        response: a `CameraResponse`.
        rng: a `numpy.random.Generator` for the noise.
        noise_sigma: standard deviation of the noise, in [0, 1] units of the
            encoded image (0.01 is 2.55 levels of 255).
        output_size, offset: the crop of `image` to render, as in `render_frames`.

    Returns:
        uint8 (out_height, out_width, channels) blurred image, aligned with the
        crop of `image` (the middle frame).
    """
    linear = response.to_linear(image.astype(np.float32) / 255.0)
    frames = render_frames(linear, poses, output_size, offset)
    return encode(response.from_linear(frames.mean(axis=0)), rng, noise_sigma)


def blur_linear(image, length, heading, response, rng, noise_sigma, output_size=None,
                offset=(0, 0)):
    """Plain linear motion blur: one straight kernel, in linear light, plus noise.

    Arguments as `blur_along_path`, with a `length` in pixels and a `heading` in
    radians instead of poses.
    """
    kernel = linear_motion_kernel(length, heading)
    radius = kernel.shape[0] // 2
    height, width = output_size or image.shape[:2]
    x, y = offset
    padded = cv2.copyMakeBorder(image, radius, radius, radius, radius, cv2.BORDER_REFLECT)
    window = padded[y:y + height + 2 * radius, x:x + width + 2 * radius]
    linear = response.to_linear(window.astype(np.float32) / 255.0)
    blurred = cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)
    blurred = blurred.reshape(linear.shape)[radius:radius + height, radius:radius + width]
    return encode(response.from_linear(blurred), rng, noise_sigma)
