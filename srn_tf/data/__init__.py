"""Images and pairs: image files, the pair lists of the release and GOPRO, the tf.data
training pipeline, and srn-synth's synthetic blur (synth/)."""
