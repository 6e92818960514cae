"""Write random-weight checkpoints of the real BLIP / BLIP-2 architectures, for tests and benchmarks.

    python tools/make_tiny_models.py OUT_DIR [--size tiny|base|full]

OUT_DIR gets one folder per task (blip-caption, blip-vqa, blip-itm, blip2-opt, and blip2-mt0: BLIP-2 with a
multilingual encoder-decoder language model, as mBLIP's), each holding what a hub
checkpoint holds (config.json, safetensors weights, tokenizer and processor files), and OUT_DIR/config.yaml
naming them as models. Everything loads through the same ``from_pretrained`` path as real checkpoints.

``tiny`` builds in seconds for tests. ``base`` gives the BLIP checkpoints blip-base's real dimensions
(ViT-B/16 at 384 px, a 12-layer BERT-base text side, a 30,524-token vocabulary), which is what speed depends
on; BLIP-2 stays small there. ``full`` is ``base`` with BLIP-2 at its real size: blip2-opt-2.7b's exact
configuration (ViT-g, the Q-Former with 32 queries, OPT-2.7B: 3.74B parameters, 7.5 GB in bf16) and an OPT-sized
tokenizer, written straight to safetensors shards from a model built on the meta device, so that at most one shard
is ever in memory (1.5 GB peak RSS, measured). Tests never build it; ``tools/bench.py --blip2-full`` builds it once.
No network is used: tokenizers are built from a generated vocabulary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
from pathlib import Path

# Words for the generated vocabularies: enough for readable prompts and questions in tests.
WORDS = """a an the of in on at to and or with without is are was were be has have this that these those
what which who where when how many much color colour there here picture photo image photograph painting drawing
of man woman person people child dog cat bird horse car bus train plane boat bike street road city tree trees
grass field sky cloud clouds water sea beach mountain snow table chair room kitchen food plate pizza cake
red green blue yellow white black brown orange pink purple gray grey small large big little two three four
one five six sitting standing walking running riding holding eating playing looking next near front top
bottom left right inside outside under over background foreground close up view old young happy yes no
""".split()  # noqa: SIM905 - a word list reads better as prose

SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# Words in other languages for the multilingual (mT0-style) vocabulary; its characters cover Latin scripts with
# their accents, so any such text can be written, and a few CJK characters.
WORDS_OTHER = """ein eine der die das ist was welche farbe rot rotes grün grünes blau blaues gelb gelbes bild foto hund
katze auf dem mit un une le la est quelle couleur rouge vert bleu jaune chien chat carré sur el los es qué color rojo
verde azul amarillo perro gato cuadrado sobre foto imagen 赤 青 緑 黄 色 犬 猫 写真 の は です 何
""".split()  # noqa: SIM905


def build_bert_vocab(vocab_size: int) -> dict[str, int]:
    """A WordPiece vocabulary: BERT's special tokens at BERT's ids, words, characters, then fillers."""
    vocab: list[str] = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103 as in bert-base-uncased, which BLIP configs assume.
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    for token in chars + [f"##{c}" for c in string.ascii_lowercase + string.digits] + sorted(set(WORDS)):
        if token not in vocab:
            vocab.append(token)
    filler = 0
    while len(vocab) < vocab_size - 2:  # two slots left for [DEC] and [ENC], added as special tokens
        vocab.append(f"w{filler}")
        filler += 1
    return {token: i for i, token in enumerate(vocab)}


def blip_tokenizer(vocab_size: int):
    from transformers import BertTokenizer

    tokenizer = BertTokenizer(vocab=build_bert_vocab(vocab_size), do_lower_case=True, model_max_length=512)
    tokenizer.add_special_tokens({"bos_token": "[DEC]", "additional_special_tokens": ["[ENC]"]})
    return tokenizer


def opt_tokenizer(vocab_size: int):
    """A byte-level BPE tokenizer shaped like OPT's (GPT-2 BPE, </s> as bos/eos), trained on WORDS."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    corpus = [" ".join(WORDS[i : i + 12]) for i in range(0, len(WORDS), 3)] * 4
    bpe.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=1, special_tokens=["<pad>", "</s>", "<unk>"])
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token="</s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        padding_side="left",  # BLIP-2 OPT generates after the prompt: pad on the left
    )
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    return tokenizer


def opt_tokenizer_full():
    """An OPT-sized byte-level BPE tokenizer: OPT's special tokens at OPT's ids (<s>, <pad>, </s>, <unk> = 0-3),
    50,265 tokens as in facebook/opt-2.7b, then <image> at 50,265 as in blip2-opt-2.7b's processor. Trained (in a
    few seconds) on WORDS, the model card's prompt words and generated filler words that fill the vocabulary."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    rng = random.Random(0)
    fillers = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) for _ in range(60000)]
    corpus = [" ".join(WORDS + ["Question:", "Answer:"])] * 50 + [" ".join(fillers[i : i + 20])
                                                                   for i in range(0, len(fillers), 20)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=OPT_VOCAB, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="</s>", eos_token="</s>",
                                  unk_token="<unk>", pad_token="<pad>", padding_side="left")
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    if tokenizer.convert_tokens_to_ids("<image>") != OPT_VOCAB:
        raise RuntimeError(f"the generated tokenizer has {len(tokenizer)} tokens, not {OPT_VOCAB + 1}")
    return tokenizer


def mt5_tokenizer():
    """A SentencePiece-style Unigram tokenizer shaped like mT5's (<pad>=0, </s>=1, <unk>=2, cased pieces), with
    whole-word pieces for WORDS and WORDS_OTHER and single characters as the fallback that any Latin text needs."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + w, -4.0) for w in dict.fromkeys(WORDS + WORDS_OTHER)]
    letters = string.ascii_letters + string.digits + string.punctuation + "äöüßàâçéèêëîïôùûÿñáíóúÄÖÜÉÀÇ"
    pieces += [(c, -8.0) for c in dict.fromkeys(letters + "".join(w for w in WORDS_OTHER if not w.isascii()))]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    return tokenizer


def blip_config(size: str, tokenizer):
    from transformers import BlipConfig

    if size == "base":  # Salesforce/blip-image-captioning-base dimensions
        vision = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                      image_size=384, patch_size=16, initializer_range=0.02)
        text = dict(hidden_size=768, encoder_hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                    num_attention_heads=12)
    else:
        vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      image_size=32, patch_size=8, initializer_range=0.02)
        text = dict(hidden_size=32, encoder_hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=2, max_position_embeddings=128)
    text.update(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id,
                sep_token_id=tokenizer.sep_token_id, eos_token_id=tokenizer.sep_token_id)
    config = BlipConfig(text_config=text, vision_config=vision, image_text_hidden_size=256 if size == "base" else 16)
    return config, vision["image_size"]


def make_images_matter(model) -> None:
    """Scale up the text side's cross-attention: at the default init scale a random decoder barely looks at
    the image, so every image would get the same caption and tests could not tell batched rows apart."""
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if "crossattention" in name and param.dim() == 2:
                param.mul_(10.0)


def make_words_learnable(model) -> None:
    """Scale up the layer norm in front of the output layer that shares the word embeddings (BLIP's text decoder,
    OPT): at the default init (std 0.02) those embeddings keep a tiny model's logits within a fraction of a unit
    whatever its hidden state, so no adapter, and not even full fine-tuning of its linear layers, could make it
    write a chosen caption (a trained checkpoint can). Scaling the norm scales every logit alike: greedy outputs
    stay the same, the inputs' embeddings are untouched."""
    import torch

    decoder = getattr(model, "text_decoder", None)
    if decoder is not None:
        norm = decoder.cls.predictions.transform.LayerNorm
    elif getattr(model.config.text_config, "model_type", None) == "opt":
        norm = model.language_model.model.decoder.final_layer_norm
    else:
        return
    with torch.no_grad():
        norm.weight.mul_(15.0)
        norm.bias.mul_(15.0)


def save_blip(folder: Path, model_class: str, size: str) -> None:
    import torch
    import transformers
    from transformers import BlipImageProcessor, BlipProcessor

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = blip_tokenizer(30524 if size == "base" else 400)
    config, image_size = blip_config(size, tokenizer)
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(config).eval()
    make_images_matter(model)
    if size == "tiny":
        make_words_learnable(model)
    model.save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": image_size, "width": image_size})
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


def save_blip2(folder: Path, language_model: str = "opt") -> None:
    """BLIP-2 with a decoder-only OPT language model (as Salesforce/blip2-opt-*), or with an encoder-decoder mT5
    one ("mt0": as mBLIP's Gregor/mblip-mt0-xl, whose language model is mT0, an instruction-tuned mT5)."""
    import torch
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor

    folder.mkdir(parents=True, exist_ok=True)
    num_query_tokens = 8
    if language_model == "mt0":
        tokenizer = mt5_tokenizer()
        text_config = dict(model_type="mt5", d_model=32, d_kv=16, d_ff=64, num_layers=2, num_decoder_layers=2,
                           num_heads=2, vocab_size=len(tokenizer), feed_forward_proj="gated-gelu", dropout_rate=0.0,
                           tie_word_embeddings=False, decoder_start_token_id=tokenizer.pad_token_id,
                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    else:
        tokenizer = opt_tokenizer(600)
        text_config = dict(model_type="opt", hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2,
                           word_embed_proj_dim=32, dropout=0.0, attention_dropout=0.0, vocab_size=len(tokenizer),
                           max_position_embeddings=256, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    config = Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, initializer_range=0.02),
        qformer_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                            encoder_hidden_size=32, vocab_size=128, cross_attention_frequency=1,
                            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
        text_config=text_config,
        num_query_tokens=num_query_tokens,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
    )
    # No dropout: at this size, the language models' 10% dropout keeps even full fine-tuning from memorising the
    # few captions that the adapter tests train on (it changes nothing at inference).
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config).eval()
    make_images_matter(model)
    make_words_learnable(model)
    if language_model == "mt0":  # the same for the encoder-decoder: its decoder must listen to the image's queries
        with torch.no_grad():
            for name, param in model.named_parameters():
                if ("EncDecAttention" in name or "language_projection" in name) and param.dim() == 2:
                    param.mul_(5.0)
    model.save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32},
                                         image_mean=[0.48145466, 0.4578275, 0.40821073],
                                         image_std=[0.26862954, 0.26130258, 0.27577711])
    Blip2Processor(image_processor=image_processor, tokenizer=tokenizer,
                   num_query_tokens=num_query_tokens).save_pretrained(folder)


OPT_VOCAB = 50265  # facebook/opt-2.7b's tokenizer; blip2-opt-2.7b adds <image> as token 50265

# Salesforce/blip2-opt-2.7b's config.json (as updated for transformers 4.47): its vision and Q-Former sections are
# Blip2Config's defaults, written out here so that a change of defaults cannot change the benchmark's model.
BLIP2_OPT_27B = dict(
    vision_config=dict(hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16,
                       image_size=224, patch_size=14, layer_norm_eps=1e-6, qkv_bias=True, hidden_act="gelu"),
    qformer_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                        cross_attention_frequency=2, encoder_hidden_size=1408, vocab_size=30522),
    text_config=dict(model_type="opt", hidden_size=2560, ffn_dim=10240, num_hidden_layers=32, num_attention_heads=32,
                     word_embed_proj_dim=2560, vocab_size=50304, max_position_embeddings=2048, bos_token_id=2,
                     pad_token_id=1, eos_token_id=50118, prefix="</s>", activation_dropout=0.0),
    num_query_tokens=32, image_token_index=OPT_VOCAB, image_text_hidden_size=256,
)


def write_random_weights(model_class, config, folder: Path, dtype_name: str = "bfloat16",
                         max_shard_bytes: int = 1 << 30, seed: int = 0) -> dict[str, int]:
    """Random weights for ``model_class(config)`` written as safetensors shards, with the index ``from_pretrained``
    reads, without ever building the model: it is instantiated on the meta device (shapes only), and each shard's
    tensors are drawn, written and freed before the next. LayerNorms get ones and zeros, biases zeros, every other
    tensor N(0, 0.02), as transformers' own initialisation (speed does not depend on the values). The names are
    what ``save_pretrained`` writes: one per parameter, a tied output head stored once, as its embedding.
    Returns the number of parameters and the largest shard's bytes."""
    import torch
    from safetensors.torch import save_file

    dtype = getattr(torch, dtype_name)
    with torch.device("meta"):
        model = model_class(config)
    params = list(model.named_parameters())  # tied weights appear once, under their first name
    itemsize = torch.empty((), dtype=dtype).element_size()
    shards: list[list[tuple[str, torch.nn.Parameter]]] = [[]]
    size = 0
    for name, param in params:
        nbytes = param.numel() * itemsize
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append((name, param))
        size += nbytes
    generator = torch.Generator().manual_seed(seed)
    weight_map, largest = {}, 0
    folder.mkdir(parents=True, exist_ok=True)
    for index, shard in enumerate(shards, 1):
        file = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for name, param in shard:
            owner = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
            value = torch.empty(param.shape, dtype=dtype)
            if isinstance(owner, torch.nn.LayerNorm):
                value.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                value.zero_()
            else:
                value.normal_(0.0, 0.02, generator=generator)
            tensors[name] = value
            weight_map[name] = file
        largest = max(largest, sum(t.numel() * t.element_size() for t in tensors.values()))
        save_file(tensors, folder / file, metadata={"format": "pt"})
        del tensors
    total = sum(p.numel() for _, p in params)
    index = {"metadata": {"total_size": total * itemsize}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return {"parameters": total, "largest_shard_bytes": largest}


def save_blip2_full(folder: Path, max_shard_bytes: int = 1 << 30) -> dict[str, int]:
    """blip2-opt-2.7b's architecture with random bf16 weights, its processor and an OPT-sized tokenizer."""
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessor,
        GenerationConfig,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = opt_tokenizer_full()
    config = Blip2Config(**BLIP2_OPT_27B)
    config.architectures = ["Blip2ForConditionalGeneration"]
    config.dtype = "bfloat16"
    written = write_random_weights(Blip2ForConditionalGeneration, config, folder, "bfloat16", max_shard_bytes)
    config.save_pretrained(folder)
    GenerationConfig.from_model_config(config).save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": 224, "width": 224}, resample=3,
                                         image_mean=[0.48145466, 0.4578275, 0.40821073],
                                         image_std=[0.26862954, 0.26130258, 0.27577711])
    Blip2Processor(image_processor=image_processor, tokenizer=tokenizer,
                   num_query_tokens=config.num_query_tokens).save_pretrained(folder)
    return written


def save_blip2_itm(folder: Path) -> None:
    """A BLIP-2 image-text retrieval checkpoint (as Salesforce/blip2-itm-vit-g): Q-Former with ITM and ITC heads,
    a BERT WordPiece tokenizer, no language model."""
    import torch
    from transformers import Blip2Config, Blip2ForImageTextRetrieval, BlipImageProcessor, BlipProcessor

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = blip_tokenizer(400)
    config = Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, initializer_range=0.02),
        qformer_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                            encoder_hidden_size=32, vocab_size=len(tokenizer), cross_attention_frequency=1,
                            max_position_embeddings=128, use_qformer_text_input=True),
        num_query_tokens=8, image_text_hidden_size=16,
    )
    torch.manual_seed(0)
    model = Blip2ForImageTextRetrieval(config).eval()
    make_images_matter(model)
    model.save_pretrained(folder)
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32},
                                         image_mean=[0.48145466, 0.4578275, 0.40821073],
                                         image_std=[0.26862954, 0.26130258, 0.27577711])
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


def plant_grounding_signal(itm_dir: Path, out_dir: Path, image, patch: tuple[int, int], flip: bool = False) -> Path:
    """A copy of a tiny ITM checkpoint whose first text layer's cross-attention goes to one patch of ``image``.

    The patch's position embedding is made to stand out, and the key and query projections of cross-attention
    layer 0 are set so that every text token attends to it alone. Grad-CAM keeps the positive part of the
    gradient, so ``flip`` negates the match row when attending to the patch lowers the match score instead.
    For tests and for the README's picture of what a grounded word looks like; the weights are otherwise random.
    """
    import math

    import torch
    import transformers

    model = transformers.BlipForImageTextRetrieval.from_pretrained(itm_dir).eval()
    processor = transformers.AutoProcessor.from_pretrained(itm_dir)
    side = model.config.vision_config.image_size // model.config.vision_config.patch_size
    token = 1 + patch[0] * side + patch[1]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        embeddings = model.vision_model.embeddings.position_embedding
        embeddings[0, token] += 40 * torch.randn(embeddings.shape[-1], generator=generator)
        pixels = processor.image_processor(images=image, return_tensors="pt")["pixel_values"]
        features = model.vision_model(pixels).last_hidden_state[0]
        direction = features[token] / features[token].norm()
        cross = model.text_encoder.encoder.layer[0].crossattention.self
        e = torch.ones(cross.key.weight.shape[0]) / math.sqrt(cross.key.weight.shape[0])
        cross.key.weight.copy_(30 * torch.outer(e, direction))
        cross.key.bias.zero_()
        cross.query.weight.zero_()
        cross.query.bias.copy_(30 * e)
        if flip:
            model.itm_head.weight[1].neg_()
            model.itm_head.bias[1].neg_()
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


CHECKPOINTS = {  # folder -> (how to build it, the model entry of config.yaml)
    "blip-caption": ("BlipForConditionalGeneration", {"name": "blip-base", "tasks": ["caption"]}),
    "blip-vqa": ("BlipForQuestionAnswering", {"name": "blip-vqa", "tasks": ["vqa"]}),
    "blip-itm": ("BlipForImageTextRetrieval", {"name": "blip-itm", "tasks": ["match"]}),
    "blip2-opt": ("Blip2ForConditionalGeneration", {"name": "blip2-opt", "tasks": ["caption", "vqa"]}),
    "blip2-itm": ("Blip2ForImageTextRetrieval", {"name": "blip2-itm", "tasks": ["match"]}),
    "blip2-mt0": ("Blip2ForConditionalGeneration", {"name": "blip2-mt0", "tasks": ["caption", "vqa"]}),
}
FULL_BLIP2_FOLDER = "blip2-opt-2.7b"  # --size full: blip2-opt's folder, beside the small one, so both are kept


def _built_size(folder: str, model_class: str, size: str) -> str:
    """The size a checkpoint is really built at: BLIP grows with base, BLIP-2 OPT only with full, other BLIP-2s
    never."""
    if model_class.startswith("Blip2"):
        return "full" if size == "full" and folder == "blip2-opt" else "tiny"
    return "tiny" if size == "tiny" else "base"


REVISION = 3  # bumped when the checkpoints change, so that folders written before are rebuilt


def make(out_dir: Path, size: str = "tiny") -> Path:
    """Write every checkpoint (skipping those already complete) and OUT_DIR/config.yaml; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    models = {}
    for folder, (model_class, entry) in CHECKPOINTS.items():
        built = _built_size(folder, model_class, size)
        if built == "full":
            folder = FULL_BLIP2_FOLDER
        path = out_dir / folder
        stamp = path / ".complete"
        # The full checkpoint's random values do not matter to speed: the tiny ones' revisions do not rebuild its 7 GB.
        done = built if built == "full" else f"{built} {REVISION}"
        if not (stamp.exists() and stamp.read_text() == done):
            if model_class == "Blip2ForImageTextRetrieval":
                save_blip2_itm(path)
            elif built == "full":
                save_blip2_full(path)
            elif model_class.startswith("Blip2"):
                save_blip2(path, folder.removeprefix("blip2-"))
            else:
                save_blip(path, model_class, built)
            stamp.write_text(done)
        models[entry["name"]] = {"source": f"./{folder}", "tasks": entry["tasks"]}
    config = {
        "models": models,
        "defaults": {"caption": "blip-base", "vqa": "blip-vqa", "match": "blip-itm"},
        "device": "cpu",
    }
    if size == "tiny":  # two text layers; the last one's maps reach the [CLS] score only through its own row
        config["grounding"] = {"layer": 0}
    config_path = out_dir / "config.yaml"
    # JSON is valid YAML; it keeps this script free of a yaml dependency.
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config_path


def main(argv: list[str] | None = None) -> int:
    from mcp_server.vision.loading import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", choices=["tiny", "base", "full"], default="tiny")
    args = parser.parse_args(argv)
    # The tokenizers' native code writes blank lines straight to file descriptor 1 while saving; keep the
    # output to what this script has to say (the config path).
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        config = make(args.out_dir, args.size)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    print(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
