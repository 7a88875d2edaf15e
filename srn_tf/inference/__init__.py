"""Deblurring images with a loaded model: `deblur_image` (padding, tiling, flips, the
fixed-size mode), the post-processing around the network, and `deblur_files` for folders."""
