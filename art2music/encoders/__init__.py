"""Encoders shared by the engines: OpenCLIP image and comment encoder (and its registered tiny architecture)."""
