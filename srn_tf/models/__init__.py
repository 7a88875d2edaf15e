"""The network: its Keras layers, the scale-recurrent SRNDeblurNet, the TF1 resize it was
trained with, the release's three model types, and the presets shipped in the package."""
