"""Scoring a model as the paper did: PSNR and SSIM, the evaluation loop, and sheets of
images to look at."""
