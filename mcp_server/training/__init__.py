"""Fine-tuning: ``ai-notes-mcp finetune`` trains a LoRA adapter on the text side of a configured BLIP or BLIP-2
model, with its image encoder frozen and each image encoded once.

    options.py     the command's knobs and their bounds (the CLI's flags and help come from them)
    data.py        a folder of images with .txt captions, or a JSONL / CSV file -> checked examples
    targets.py     which layers get LoRA, per family and task
    objectives.py  each family's training loss from cached image features
    finetune.py    the run: encode once, train, validate, checkpoint, resume, write the adapter and its card
    results.py     what the run returns (and ``--json`` prints)

The adapter it writes is served by name (``vision/adapters.py``) once declared under ``adapters`` in the settings.
"""
