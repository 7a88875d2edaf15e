"""Writing a model for other runtimes: a TensorFlow SavedModel that serves any size."""
