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
# Linear light above which `boost_highlights` brightens a pixel (0.9 of 255 encoded
# with gamma 2.2): what an 8-bit photograph shows near white is often a light source
# or a specular reflection clipped by the camera, many times brighter in the scene.
HIGHLIGHT_THRESHOLD = 0.8


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


def warp_frame(linear_image, pose, output_size=None, offset=(0, 0), center=None,
               border_mode=cv2.BORDER_REFLECT):
    """Warps a linear-light image to one pose (bilinear, `cv2.warpAffine`).

    Args:
        linear_image: float32 (height, width, channels) in linear light.
        pose: (dx, dy, angle in radians) as in `pose_matrix`.
        output_size: (height, width) of the frame; the whole image by default.
        offset: (x, y) of the frame's top-left corner in `linear_image`.
        center: (x, y) the frame rotates about, in frame pixels; the frame's
            centre by default.
        border_mode: how pixels outside `linear_image` are filled (an OpenCV
            border type; reflected by default, 0 outside with `cv2.BORDER_CONSTANT`).

    Returns:
        float32 (out_height, out_width, channels).
    """
    height, width = output_size or linear_image.shape[:2]
    if center is None:
        center = ((width - 1) / 2.0, (height - 1) / 2.0)
    frame = cv2.warpAffine(linear_image, pose_matrix(pose, center, offset), (width, height),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border_mode)
    return frame.reshape(height, width, -1)


def render_frames(linear_image, poses, output_size=None, offset=(0, 0)):
    """Warps a linear-light image to every pose of a burst (`warp_frame`).

    Args:
        linear_image: float32 (height, width, channels) in linear light.
        poses: (num_frames, 3) as `trajectory.camera_path` returns.
        output_size: (height, width) of the frames; the whole image by default.
        offset: (x, y) of the frames' top-left corner in `linear_image`.

    Returns:
        float32 (num_frames, out_height, out_width, channels).
    """
    return np.stack([warp_frame(linear_image, pose, output_size, offset) for pose in poses])


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


def boost_highlights(linear_image, gain):
    """Brightens near-white pixels, so that their blur saturates as a sensor's does.

    A pixel of linear value v is multiplied by 1 + gain * ramp(v), the ramp rising
    from 0 at `HIGHLIGHT_THRESHOLD` to 1 at v = 1: darker pixels keep their value,
    white ones become 1 + gain times brighter than white. Averaging a burst of such
    frames and clipping the average at 1 (as `CameraResponse.from_linear` does)
    turns a small bright light into a saturated streak instead of a dim smear.

    Args:
        linear_image: float32 array in linear light, [0, 1].
        gain: >= 0; 0 returns `linear_image` itself.

    Returns:
        float32 array of the same shape, values in [0, 1 + gain].
    """
    if gain < 0:
        raise ValueError(f"highlight gain must be >= 0. Received: gain={gain}")
    if gain == 0:
        return linear_image
    ramp = np.clip((linear_image - HIGHLIGHT_THRESHOLD) / (1.0 - HIGHLIGHT_THRESHOLD), 0.0, 1.0)
    return (linear_image * (1.0 + np.float32(gain) * ramp)).astype(np.float32)


def compress_jpeg(image, quality):
    """A uint8 RGB image round-tripped through JPEG at `quality` (1 to 100), in memory."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100]. Received: quality={quality}")
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def encode(values, rng, noise_sigma):
    """Encoded float values in [0, 1] plus Gaussian noise -> rounded uint8."""
    if noise_sigma > 0:
        values = values + rng.normal(0.0, noise_sigma, values.shape).astype(np.float32)
    return np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def blur_along_path(image, poses, response, rng, noise_sigma, output_size=None, offset=(0, 0),
                    highlight_gain=0.0):
    """The GOPRO recipe: warp along the path, average in linear light, re-encode, add noise.

    Args:
        image: uint8 (height, width, channels) sharp image.
        poses: (num_frames, 3) camera poses, the middle one the identity.
        response: a `CameraResponse`.
        rng: a `numpy.random.Generator` for the noise.
        noise_sigma: standard deviation of the noise, in [0, 1] units of the
            encoded image (0.01 is 2.55 levels of 255).
        output_size, offset: the crop of `image` to render, as in `render_frames`.
        highlight_gain: brightening of near-white pixels before averaging
            (`boost_highlights`); 0 for none.

    Returns:
        uint8 (out_height, out_width, channels) blurred image, aligned with the
        crop of `image` (the middle frame).
    """
    linear = boost_highlights(response.to_linear(image.astype(np.float32) / 255.0),
                              highlight_gain)
    frames = render_frames(linear, poses, output_size, offset)
    return encode(response.from_linear(frames.mean(axis=0)), rng, noise_sigma)


def blur_linear(image, length, heading, response, rng, noise_sigma, output_size=None,
                offset=(0, 0), highlight_gain=0.0):
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
    linear = boost_highlights(response.to_linear(window.astype(np.float32) / 255.0),
                              highlight_gain)
    blurred = cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)
    blurred = blurred.reshape(linear.shape)[radius:radius + height, radius:radius + width]
    return encode(response.from_linear(blurred), rng, noise_sigma)
