"""Dead-leaves images: procedural sharp content with the edge statistics of photographs.

A dead-leaves image stacks random opaque shapes ("leaves") of random colour, the
front ones hiding the ones behind, with sizes drawn from a power law p(r) ~ r**-3
between `min_radius` and `max_radius`. That law makes the image look alike at
every scale, as natural images do (Lee, Mumford and Huang 2001); denoising and
super-resolution networks trained on such images come close to ones trained on
photographs, and a mix of both loses nothing on photographs (Achddou, Gousseau
and Ladjal, "Synthetic images as a regularity prior for image restoration neural
networks", SSVM 2021). For deblurring they add what
a handful of photographs lacks: sharp edges of every orientation, length, contrast
and colour, corners and occlusions, in unlimited supply and without a download.

Leaves are ellipses of any elongation and orientation, or polygons (triangles and
quadrilaterals, for straight edges and corners). Each is flat, shaded with a
linear gradient, or (a share `texture_fraction`, none by default) textured: two
colours blended by stripes (from sinusoidal to square, any period and angle) or by
grain (smoothed noise of one of several scales), the fine detail inside objects
that photographs have and flat leaves lack (textures are what Achddou et al.'s
later "Vibrant Leaves" adds). A share `photo_fraction` (none by default) is
instead cut from a photograph, rotated, rescaled and tinted: natural textures
(fur, foliage, masonry) with the leaves' edges around them. The image is drawn
at twice its size and shrunk with area averaging, so edges are anti-aliased as a
lens and sensor leave them, and a smooth illumination field modulates the whole.
"""

import colorsys
import dataclasses

import cv2
import numpy as np

SUPERSAMPLING = 2


@dataclasses.dataclass(frozen=True)
class LeafParameters:
    """How leaves are drawn; sizes in pixels of the output image."""

    min_radius: float = 2.0
    max_radius: float = 150.0
    polygon_fraction: float = 0.4
    gradient_fraction: float = 0.3
    texture_fraction: float = 0.0
    photo_fraction: float = 0.0
    max_leaves: int = 30000


GRAIN_SIGMAS = (0.5, 1.0, 2.0, 4.0)
"""Scales of the grain textures: Gaussian widths in pixels of the output image."""
MIN_STRIPE_PERIOD, MAX_STRIPE_PERIOD = 2.5, 32.0
"""Range of the stripe textures' periods in pixels of the output image (log-uniform)."""
MIN_PHOTO_ZOOM, MAX_PHOTO_ZOOM = 0.5, 2.0
"""Range of a photo leaf's magnification, output pixels per photograph pixel (log-uniform)."""
MAX_PHOTO_GAIN = 3.0
"""Largest factor a photo leaf's channel is brightened by to take its leaf's colour."""


def leaf_radii(rng, count, min_radius, max_radius):
    """`count` radii with density proportional to r**-3 on [min_radius, max_radius].

    Inverse transform of the CDF: r = (rmin**-2 - u (rmin**-2 - rmax**-2))**-1/2.
    """
    u = rng.uniform(0.0, 1.0, count)
    low, high = min_radius ** -2.0, max_radius ** -2.0
    return (low - u * (low - high)) ** -0.5


def leaf_colour(rng):
    """An RGB colour in [0, 1], mostly of low saturation as in photographs."""
    hue = rng.uniform(0.0, 1.0)
    saturation = rng.uniform(0.0, 1.0) * rng.uniform(0.0, 1.0)
    value = rng.uniform(0.03, 1.0)
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value), np.float32)


def leaf_mask(rng, radius, polygon_fraction):
    """A leaf's shape: a boolean mask (side, side), the leaf centred and `radius` in size."""
    side = int(np.ceil(2 * radius)) + 3
    mask = np.zeros((side, side), np.uint8)
    centre = side / 2.0
    if rng.uniform() < polygon_fraction:
        corners = int(rng.integers(3, 5))
        angles = np.sort(rng.uniform(0.0, 2 * np.pi, corners))
        points = np.stack([centre + radius * np.cos(angles), centre + radius * np.sin(angles)], -1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    else:
        elongation = rng.uniform(0.3, 1.0)
        axes = (max(1, round(radius)), max(1, round(radius * elongation)))
        cv2.ellipse(mask, (round(centre), round(centre)), axes, rng.uniform(0.0, 180.0),
                    0, 360, 1, thickness=-1)
    return mask.astype(bool)


def grain_fields(rng, canvas_size):
    """One noise field (canvas_size, canvas_size) per `GRAIN_SIGMAS`, blend weights in [0, 1].

    White noise smoothed by a Gaussian of that width (at the canvas's scale), then
    mapped to mean 0.5 with a standard deviation of 0.25 and clipped.
    """
    fields = []
    for sigma in GRAIN_SIGMAS:
        noise = cv2.GaussianBlur(rng.normal(size=(canvas_size, canvas_size)).astype(np.float32),
                                 (0, 0), sigma * SUPERSAMPLING)
        fields.append(np.clip(0.5 + 0.25 * noise / noise.std(), 0.0, 1.0))
    return fields


def stripe_weights(rng, y, x):
    """Blend weights in [0, 1] for the pixels at canvas rows `y`, columns `x` (n,): stripes.

    A sinusoid of log-uniform period and uniform angle and phase, steepened by a
    log-uniform gain of 1 to 10 and clipped, so stripes range from soft waves to
    hard bars.
    """
    log_period = rng.uniform(np.log(MIN_STRIPE_PERIOD), np.log(MAX_STRIPE_PERIOD))
    period = SUPERSAMPLING * np.exp(log_period)
    angle = rng.uniform(0.0, np.pi)
    phase = rng.uniform(0.0, 2 * np.pi)
    gain = np.exp(rng.uniform(0.0, np.log(10.0)))
    wave = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + phase)
    return np.clip(0.5 + 0.5 * gain * wave, 0.0, 1.0)


def photo_patch(rng, colour, y, x, photo):
    """The colours (n, 3) of a leaf cut from `photo` at canvas rows `y`, columns `x` (n,).

    The leaf's pixels map into the photograph (float32 RGB in [0, 1], (h, w, 3))
    about a random point, turned by a random angle and magnified log-uniformly by
    `MIN_PHOTO_ZOOM` to `MAX_PHOTO_ZOOM`, sampled bilinearly (mirrored at the
    photograph's borders); each channel is then scaled so the patch's mean is
    `colour`, which tints gray photographs (by at most `MAX_PHOTO_GAIN`, so the
    noise of a dark patch is not blown up into a texture of its own).
    """
    zoom = SUPERSAMPLING * np.exp(rng.uniform(np.log(MIN_PHOTO_ZOOM), np.log(MAX_PHOTO_ZOOM)))
    angle = rng.uniform(0.0, 2 * np.pi)
    centre_y, centre_x = rng.uniform(0.0, photo.shape[0]), rng.uniform(0.0, photo.shape[1])
    dy, dx = (y - y.mean()) / zoom, (x - x.mean()) / zoom
    map_x = centre_x + dx * np.cos(angle) - dy * np.sin(angle)
    map_y = centre_y + dx * np.sin(angle) + dy * np.cos(angle)
    # cv2.remap takes maps of fewer than 32767 rows: lay the n points out in rows of 256.
    padded = -len(y) % 256
    maps = [np.pad(m.astype(np.float32), (0, padded)).reshape(-1, 256) for m in (map_x, map_y)]
    patch = cv2.remap(photo, *maps, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REFLECT_101).reshape(-1, 3)[:len(y)]
    gain = np.minimum(colour / np.maximum(patch.mean(axis=0), 1e-3), MAX_PHOTO_GAIN)
    return np.clip(patch * gain[None], 0.0, 1.0)


def leaf_fill(rng, colour, y, x, radius, parameters, grain, photos=()):
    """The colours (n, 3) of a leaf's n new pixels at canvas rows `y` and columns `x`.

    A share `parameters.photo_fraction` is a patch of one of `photos` tinted to
    `colour` (`photo_patch`); of the rest, a share `parameters.texture_fraction` a
    blend of `colour` and a second colour by stripes or by one of the `grain`
    fields; of the rest, a share `parameters.gradient_fraction` `colour` shaded by a
    linear gradient across the leaf (`radius` in canvas pixels); the others flat
    `colour`. A share of 0 draws no random number, so images drawn without photo
    leaves are the same as before they existed.
    """
    if parameters.photo_fraction and rng.uniform() < parameters.photo_fraction:
        return photo_patch(rng, colour, y, x, photos[int(rng.integers(len(photos)))])
    if parameters.texture_fraction and rng.uniform() < parameters.texture_fraction:
        if rng.uniform() < 0.5:
            weight = stripe_weights(rng, y, x)
        else:
            weight = grain[int(rng.integers(len(grain)))][y, x]
        second = leaf_colour(rng)
        return colour[None] + weight[:, None] * (second - colour)[None]
    if rng.uniform() < parameters.gradient_fraction:
        direction = rng.normal(size=2) * rng.uniform(0.2, 0.8) / (2 * radius)
        shade = 1.0 + (y - y.mean()) * direction[0] + (x - x.mean()) * direction[1]
        return np.clip(colour[None] * shade[:, None], 0.0, 1.0)
    return np.broadcast_to(colour, (len(y), 3))


def illumination_field(rng, size):
    """A smooth multiplicative field (size, size, 1) in about [0.6, 1.2]: uneven lighting."""
    coarse = rng.uniform(0.6, 1.2, (4, 4)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)[..., None]


def dead_leaves_image(rng, size, parameters=LeafParameters(), photos=()):
    """One dead-leaves image, uint8 RGB (size, size, 3).

    Leaves are laid front to back: each covers only what the leaves before it left
    uncovered, and drawing stops when the canvas is full (or after
    `parameters.max_leaves`, the rest taking the last leaf's colour). `photos`
    (uint8 RGB arrays) are what photo leaves are cut from; they are needed when
    `parameters.photo_fraction` is above 0.
    """
    if parameters.photo_fraction and not photos:
        raise ValueError("photo_fraction > 0 needs photographs to cut leaves from")
    photos = [np.asarray(photo, np.float32) / 255.0 for photo in photos]
    canvas_size = size * SUPERSAMPLING
    canvas = np.zeros((canvas_size, canvas_size, 3), np.float32)
    covered = np.zeros((canvas_size, canvas_size), bool)
    radii = leaf_radii(rng, parameters.max_leaves, parameters.min_radius * SUPERSAMPLING,
                       parameters.max_radius * SUPERSAMPLING)
    grain = grain_fields(rng, canvas_size) if parameters.texture_fraction else []
    colour = np.zeros(3, np.float32)
    uncovered = canvas_size * canvas_size
    for radius in radii:
        mask = leaf_mask(rng, radius, parameters.polygon_fraction)
        side = mask.shape[0]
        top, left = (int(v) - side // 2 for v in rng.integers(0, canvas_size, 2))
        rows = slice(max(top, 0), min(top + side, canvas_size))
        cols = slice(max(left, 0), min(left + side, canvas_size))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        mask = mask[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
        new = mask & ~covered[rows, cols]
        count = int(new.sum())
        if not count:
            continue
        colour = leaf_colour(rng)
        y, x = np.nonzero(new)
        canvas[rows, cols][new] = leaf_fill(rng, colour, y + rows.start, x + cols.start, radius,
                                            parameters, grain, photos)
        covered[rows, cols] |= new
        uncovered -= count
        if not uncovered:
            break
    canvas[~covered] = colour
    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    image = np.clip(image * illumination_field(rng, size), 0.0, 1.0)
    return np.round(image * 255.0).astype(np.uint8)
