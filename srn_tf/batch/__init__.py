"""srn-batch: deblurring many images as an Apache Beam pipeline (`pipeline.run_batch`)."""
