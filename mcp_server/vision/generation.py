"""Caption options -> keyword arguments of transformers' ``generate``."""

from __future__ import annotations

from typing import Any

from .options import CaptionOptions


def generate_kwargs(options: CaptionOptions) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "max_new_tokens": options.max_new_tokens,
        "min_new_tokens": options.min_new_tokens,
        "num_return_sequences": options.num_captions,
        "repetition_penalty": options.repetition_penalty,
    }
    if options.sampling:
        kwargs.update(do_sample=True, num_beams=1, temperature=options.temperature, top_p=options.top_p)
    else:
        kwargs.update(do_sample=False, num_beams=options.num_beams)
    return kwargs
