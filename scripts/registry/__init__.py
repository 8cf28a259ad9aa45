"""Vertex AI Model Registry: a tuning job's winning trial registered as a version of its experiment's model.

`names` (model ids, aliases, labels; no cloud library), `serving` (which container serves what
the trainer saved) and `promotion` (pick the trial, look for the version that already holds it,
upload; through the backend's `ModelServiceClient`, for Vertex AI or the emulator).
"""
