"""Vision: the configured BLIP / BLIP-2 models, their loading, batching engine and service.

Nothing here imports torch or transformers at import time; they load with the first model.
"""
