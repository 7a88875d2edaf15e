"""What runs around the network when an image is deblurred: one small frozen config.

A model folder's `srn_config.json` may carry an "inference" section with these
fields; `load_model` and `load_deblur_model` attach it to the model they return
(`model.inference_options`). It is the one object that carries these steps:
`deblur_image`, `deblur_fixed_size`, `deblur_decoded`, `deblur_files`,
`evaluate`, srn-batch's `BatchSettings` and srn-serve each take an `options`
(None: the model's own), and the console scripts build it once from the model's
options and their flags. A model without options (one you build, train or
convert) runs as the release ran: once, its network's output as it is.
Plain Python, so the command line can check values before TensorFlow loads.
"""

import dataclasses

ATTRIBUTE = "inference_options"

# The numbers of flipped copies `srn_tf.inference.flip_ensemble` can average.
FLIPS = (1, 2, 4, 8)


def check_flips(flips):
    """Raises ValueError unless `flips` is one of `FLIPS`."""
    if flips not in FLIPS:
        raise ValueError(f"flips must be one of {', '.join(map(str, FLIPS))}. "
                         f"Received: flips={flips}")


@dataclasses.dataclass(frozen=True)
class InferenceOptions:
    """The steps `deblur_image` runs around the network, in this order.

    Attributes:
        flips: flipped copies of the image run and averaged (1, 2, 4 or 8;
            `srn_tf.inference.flip_ensemble`); 1 runs it once, as the release.
        flat_level: match the output's level to the input's over the input's
            flat areas (`postprocess.flat_level`).
        kernel_refinement: estimate the blur kernel from the output and the input
            and deconvolve the input with it, as far as one kernel explains the
            image (`postprocess.kernel_refinement`, `postprocess.kernel_agreement`).
        denoise: remove noise of the level estimated in the input
            (`postprocess.denoising`).
        steady_video: videos only (`srn_tf.inference.deblur_video`; a photo ignores
            it): blend each deblurred frame with the previous one where they agree
            (`srn_tf.inference.video_steadying`), for less flicker.
    """

    flips: int = 1
    flat_level: bool = False
    kernel_refinement: bool = False
    denoise: bool = False
    steady_video: bool = False

    def __post_init__(self):
        check_flips(self.flips)
        for name in ("flat_level", "kernel_refinement", "denoise", "steady_video"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false. "
                                 f"Received: {name}={getattr(self, name)!r}")

    @classmethod
    def from_config(cls, config):
        """Options from an `srn_config.json` "inference" section (None: the release's).

        Raises:
            ValueError: the section names a field that does not exist, or a bad value.
        """
        config = dict(config or {})
        unknown = sorted(set(config) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown inference option(s) {unknown}; known: "
                             f"{[field.name for field in dataclasses.fields(cls)]}")
        return cls(**config)

    def to_config(self):
        """The "inference" section of `srn_config.json`."""
        return dataclasses.asdict(self)

    def override(self, **values):
        """These options with every value that is not None replaced (the console
        scripts' step flags over a quality mode or a model's own options)."""
        return dataclasses.replace(self, **{name: value for name, value in values.items()
                                            if value is not None})


RELEASE_OPTIONS = InferenceOptions()

# Named sets of options (`srn-deblur --quality`); docs/real-photographs.md gives
# each one's gains and time with the commands that measure them:
# - "network": the network's own output, once (the release's way);
# - "standard": once, then flat level, kernel refinement where one kernel explains
#   the image, and denoising: the bundled model's default;
# - "best": the same after 4 flipped copies: a little more on every set, for
#   4 runs of the network instead of one.
QUALITY_MODES = {
    "network": RELEASE_OPTIONS,
    "standard": InferenceOptions(flips=1, flat_level=True, kernel_refinement=True, denoise=True),
    "best": InferenceOptions(flips=4, flat_level=True, kernel_refinement=True, denoise=True),
}


def quality_options(quality):
    """The `InferenceOptions` of a quality mode's name (`QUALITY_MODES`).

    Raises:
        ValueError: an unknown name.
    """
    if quality not in QUALITY_MODES:
        raise ValueError(f"quality must be one of {', '.join(QUALITY_MODES)}. "
                         f"Received: quality={quality!r}")
    return QUALITY_MODES[quality]


def options_of(model):
    """The `InferenceOptions` a model was loaded with; the release's when it has none."""
    return getattr(model, ATTRIBUTE, RELEASE_OPTIONS)


def options_for(model, options=None):
    """`options`, or the model's own (`options_of`) when it is None.

    Raises:
        TypeError: `options` is neither None nor `InferenceOptions`.
    """
    if options is None:
        return options_of(model)
    if not isinstance(options, InferenceOptions):
        raise TypeError("options must be an InferenceOptions (e.g. srn_tf.quality_options("
                        f"'best')) or None. Received: options={options!r}")
    return options


def attach_options(model, options):
    """Records `options` on `model` (a Keras model or a `SavedModelRunner`) and returns it.

    `object.__setattr__` keeps Keras from tracking the attribute as model state.
    """
    object.__setattr__(model, ATTRIBUTE, options)
    return model
