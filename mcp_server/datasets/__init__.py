"""Captioning a whole dataset: the server's engines fed by a pipeline that never stops on a bad image.

    options.py   the job's options and their bounds (the CLI's flags derive from them)
    tasks.py     --tasks as TaskSpecs (caption, vqa:QUESTION, embed) and the row keys; models checked
    sources.py   SRC -> the images to do: a folder, a glob, a list of paths, a Parquet / JSONL table
    pipeline.py  Captioner: reads, hashes, decodes and preprocesses ahead of the engines; one outcome per image
    output.py    OUT: Parquet part files written atomically, the keys already there, the lock
    sidecars.py  IMAGE.txt beside each image
    progress.py  the progress line on stderr
    job.py       the job: checks, then the local pipeline (or Ray), parts and the summary
    on_ray.py    the same pipeline as Ray Data actors and a Ray Data sink (imported only with --ray)
    results.py   the summary (what --json prints)

Nothing here imports torch, pyarrow or ray at import time.
"""
