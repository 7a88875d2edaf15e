"""What runs after the network, in this order: flat-level matching, kernel refinement,
denoising; and the noise estimate the last two share."""
