"""Scoring a model as the paper did: PSNR and SSIM and the evaluation loop."""
