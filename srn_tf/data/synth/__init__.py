"""GOPRO-style blurred/sharp training pairs made from sharp images.

Modules, one job each:
    trajectory   smooth random camera paths (poses per frame, the middle one identity)
    render       a burst of warped frames averaged in linear light, or a linear kernel
    spatially_varying  blur varying across the image: a moving object, camera roll, depth
    dead_leaves  procedural sharp images of overlapping random shapes (no download)
    sources      the sharp images: a folder, scikit-image's photographs, dead leaves
    dataset      random crops and rescales, GOPRO_Large's folders, the data lists
"""
