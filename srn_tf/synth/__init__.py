"""GOPRO-style blurred/sharp training pairs made from sharp images.

Modules, one job each:
    trajectory   smooth random camera paths (poses per frame, the middle one identity)
    render       a burst of warped frames averaged in linear light, or a linear kernel
    sources      the sharp images: a folder, or the photographs shipped with scikit-image
    dataset      random crops and rescales, GOPRO_Large's folders, the data lists
"""
