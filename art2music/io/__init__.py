"""Files in and out: images, audio clips, atomic writes, hashing and weight files. No model code."""
