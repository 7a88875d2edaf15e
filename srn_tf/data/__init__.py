"""Images and pairs: image files, the pair lists of the release and GOPRO, the tf.data
training pipeline, srn-synth's synthetic blur (synth/), and contact sheets of images to
look at."""
