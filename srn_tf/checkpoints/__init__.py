"""Model files: this project's checkpoint folders, the release's TF1 checkpoints, SavedModels
from srn-export, and `load_deblur_model`, which tells them apart."""
