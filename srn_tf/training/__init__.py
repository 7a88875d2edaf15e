"""The release's training recipe: the loss, the step, and the resumable, distributed run."""
